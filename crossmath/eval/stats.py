"""Statistics for reports: accuracies with bootstrap intervals, paired and unpaired differences, and the
agreement of two modalities on the same puzzles (2x2 table, Cohen's kappa, exact McNemar test).

Every resampling is seeded, so a report is the same on every rerun. Accuracies and differences are in percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.stats import binomtest

RESAMPLES = 10_000
SEED = 0
_BLOCK = 1000


@dataclass(frozen=True)
class Estimate:
    """A mean in percent with its 95% percentile-bootstrap interval over ``n`` puzzles."""

    mean: float
    low: float
    high: float
    n: int

    def cell(self) -> str:
        return f"{self.mean:.1f} [{self.low:.1f}, {self.high:.1f}]"


@dataclass(frozen=True)
class Difference:
    """A difference in percentage points with its 95% interval and two-sided p-value; ``paired`` says whether it
    was taken puzzle by puzzle (a sign-flip permutation test) or between independent sets (a permutation test)."""

    mean: float
    low: float
    high: float
    p: float
    n: int
    paired: bool = True

    def cell(self) -> str:
        return f"{self.mean:+.1f} [{self.low:+.1f}, {self.high:+.1f}] p={self.p:.3f}" + ("" if self.paired else " ¹")


def _resampled_indices(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [rng.integers(0, n, (min(_BLOCK, RESAMPLES - start), n)) for start in range(0, RESAMPLES, _BLOCK)]


def accuracy(right: Sequence[float], total: Sequence[float] | None = None) -> Estimate | None:
    """``sum(right) / sum(total)`` in percent (the plain mean when ``total`` is None), with a 95% interval from
    resampling puzzles: pooled ratios such as accuracy by step level keep each puzzle's blanks together."""
    num = np.asarray(right, dtype=float)
    den = np.ones_like(num) if total is None else np.asarray(total, dtype=float)
    if not len(num) or den.sum() == 0:
        return None
    rng = np.random.default_rng(SEED)
    ratios = []
    for idx in _resampled_indices(rng, len(num)):
        sums = den[idx].sum(axis=1)
        ratios.append(np.divide(num[idx].sum(axis=1), sums, out=np.full(len(idx), np.nan), where=sums > 0))
    boot = np.concatenate(ratios) * 100
    return Estimate(float(100 * num.sum() / den.sum()), float(np.nanpercentile(boot, 2.5)),
                    float(np.nanpercentile(boot, 97.5)), len(num))


def paired_difference(base: dict[str, float], other: dict[str, float]) -> Difference | None:
    """``other`` minus ``base`` on their shared puzzles (per-puzzle accuracies as fractions), in percentage points:
    the mean of per-puzzle differences, a percentile-bootstrap interval and a sign-flip permutation p-value."""
    shared = sorted(set(base) & set(other))
    if not shared:
        return None
    d = np.array([other[i] - base[i] for i in shared]) * 100
    rng = np.random.default_rng(SEED)
    boot = np.concatenate([d[idx].mean(axis=1) for idx in _resampled_indices(rng, len(d))])
    flips = np.concatenate([(rng.choice((-1.0, 1.0), idx.shape) * d).mean(axis=1)
                            for idx in _resampled_indices(rng, len(d))])
    p = (np.sum(np.abs(flips) >= abs(d.mean()) - 1e-12) + 1) / (RESAMPLES + 1)
    return Difference(float(d.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)),
                      float(p), len(d))


def unpaired_difference(base: Sequence[float], other: Sequence[float]) -> Difference | None:
    """Mean of ``other`` minus mean of ``base`` for independent sets of puzzles, in percentage points: a bootstrap
    interval resampling each set, and a two-sided permutation p-value over the pooled puzzles."""
    a, b = np.asarray(base, dtype=float) * 100, np.asarray(other, dtype=float) * 100
    if not len(a) or not len(b):
        return None
    rng = np.random.default_rng(SEED)
    boot = np.concatenate([b[jb].mean(axis=1) - a[ja].mean(axis=1) for ja, jb in
                           zip(_resampled_indices(rng, len(a)), _resampled_indices(rng, len(b)))])
    pooled, observed = np.concatenate([a, b]), b.mean() - a.mean()
    null = []
    for start in range(0, RESAMPLES, _BLOCK):
        order = rng.permuted(np.tile(pooled, (min(_BLOCK, RESAMPLES - start), 1)), axis=1)
        null.append(order[:, len(a):].mean(axis=1) - order[:, :len(a)].mean(axis=1))
    p = (np.sum(np.abs(np.concatenate(null)) >= abs(observed) - 1e-12) + 1) / (RESAMPLES + 1)
    return Difference(float(observed), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)),
                      float(p), len(a) + len(b), paired=False)


@dataclass(frozen=True)
class Agreement:
    """Two modalities on the same units (puzzles or blanks): ``both`` right, right only in the ``first``, right
    only in the ``second``, right in ``neither``."""

    both: int
    first: int
    second: int
    neither: int

    @classmethod
    def count(cls, first: Sequence[bool], second: Sequence[bool]) -> Agreement:
        pairs = list(zip(first, second, strict=True))
        return cls(sum(a and b for a, b in pairs), sum(a and not b for a, b in pairs),
                   sum(b and not a for a, b in pairs), sum(not a and not b for a, b in pairs))

    @property
    def n(self) -> int:
        return self.both + self.first + self.second + self.neither

    @property
    def agreement(self) -> float | None:
        """Share of units on which both are right or both wrong."""
        return (self.both + self.neither) / self.n if self.n else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond what the two accuracies give by chance (None when chance agreement is
        total, e.g. every unit right in both)."""
        n = self.n
        if not n:
            return None
        chance = ((self.both + self.first) * (self.both + self.second)
                  + (self.second + self.neither) * (self.first + self.neither)) / n ** 2
        return None if chance == 1 else (self.agreement - chance) / (1 - chance)  # type: ignore[operator]

    @property
    def mcnemar_p(self) -> float:
        """Exact McNemar test: two-sided binomial p-value of the discordant units splitting evenly."""
        discordant = self.first + self.second
        return 1.0 if discordant == 0 else float(binomtest(self.first, discordant, 0.5).pvalue)

    def to_dict(self) -> dict[str, float | int | None]:
        return {"both": self.both, "first_only": self.first, "second_only": self.second, "neither": self.neither,
                "n": self.n, "agreement": self.agreement, "kappa": self.kappa, "mcnemar_p": self.mcnemar_p}
