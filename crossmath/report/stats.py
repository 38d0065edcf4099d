"""Statistics for reports: accuracies with bootstrap intervals, paired and unpaired differences, and the
agreement of two modalities on the same puzzles (2x2 table, Cohen's kappa, exact McNemar test).

Every resampling is seeded, so a report is the same on every rerun. Accuracies and differences are in percent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import binomtest

RESAMPLES = 10_000
SEED = 0
_BLOCK = 1000
_CACHED_CELLS = 10_000_000


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


SIGNS = -1
"""The stream of random signs for sign-flip permutation tests (other streams draw bootstrap resamples)."""


def _blocks(n: int, stream: int) -> Iterator[np.ndarray]:
    """Blocks of rows, RESAMPLES in all, each row either how often each of ``n`` puzzles is drawn in a bootstrap
    resample, or (``SIGNS``) a random sign per puzzle. Fixed by the seed, ``n`` and ``stream``."""
    rng = np.random.default_rng([SEED, n, stream + 1])
    for start in range(0, RESAMPLES, _BLOCK):
        rows = min(_BLOCK, RESAMPLES - start)
        if stream == SIGNS:
            yield rng.choice((-1.0, 1.0), (rows, n))
            continue
        drawn = rng.integers(0, n, (rows, n)) + n * np.arange(rows)[:, None]
        yield np.bincount(drawn.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)


@lru_cache(maxsize=8)
def _cached(n: int, stream: int) -> np.ndarray:
    return np.concatenate(list(_blocks(n, stream)))


def _resampled_sums(vector: np.ndarray, stream: int = 0) -> np.ndarray:
    """The vector's sum in each resample (each row of :func:`_blocks` times the vector). Independent sets use
    different streams. The rows of small sets are kept, so a report's many estimates on one set of puzzles cost
    one matrix product each."""
    n = len(vector)
    if n * RESAMPLES <= _CACHED_CELLS:
        return _cached(n, stream) @ vector
    return np.concatenate([block @ vector for block in _blocks(n, stream)])


def accuracy(right: Sequence[float], total: Sequence[float] | None = None) -> Estimate | None:
    """``sum(right) / sum(total)`` in percent (the plain mean when ``total`` is None), with a 95% interval from
    resampling puzzles: pooled ratios such as accuracy by step level keep each puzzle's blanks together."""
    num = np.asarray(right, dtype=float)
    den = np.ones_like(num) if total is None else np.asarray(total, dtype=float)
    if not len(num) or den.sum() == 0:
        return None
    sums = _resampled_sums(den)
    boot = 100 * np.divide(_resampled_sums(num), sums, out=np.full(len(sums), np.nan), where=sums > 0)
    return Estimate(float(100 * num.sum() / den.sum()), float(np.nanpercentile(boot, 2.5)),
                    float(np.nanpercentile(boot, 97.5)), len(num))


def paired_difference(base: dict[str, float], other: dict[str, float]) -> Difference | None:
    """``other`` minus ``base`` on their shared puzzles (per-puzzle accuracies as fractions), in percentage points:
    the mean of per-puzzle differences, a percentile-bootstrap interval and a sign-flip permutation p-value."""
    shared = sorted(set(base) & set(other))
    if not shared:
        return None
    d = np.array([other[i] - base[i] for i in shared]) * 100
    boot = _resampled_sums(d) / len(d)
    flips = _resampled_sums(d, SIGNS) / len(d)
    p = (np.sum(np.abs(flips) >= abs(d.mean()) - 1e-12) + 1) / (RESAMPLES + 1)
    return Difference(float(d.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)),
                      float(p), len(d))


def unpaired_difference(base: Sequence[float], other: Sequence[float]) -> Difference | None:
    """Mean of ``other`` minus mean of ``base`` for independent sets of puzzles, in percentage points: a bootstrap
    interval resampling each set, and a two-sided permutation p-value over the pooled puzzles."""
    a, b = np.asarray(base, dtype=float) * 100, np.asarray(other, dtype=float) * 100
    if not len(a) or not len(b):
        return None
    boot = _resampled_sums(b, 1) / len(b) - _resampled_sums(a) / len(a)
    rng = np.random.default_rng([SEED, len(a), len(b), 2])
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
