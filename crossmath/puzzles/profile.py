"""What a set of puzzles looks like, per difficulty, and how far it is from another set (or the published one).

The figures are those of crossmath issue 13: grid size and the share of filled cells, equations per puzzle (in
four bins), blanks per equation, the step level of each blank, the operators, and the magnitude of the shown
numbers. :data:`PUBLISHED` holds them for the published test set, shipped as package data
(``published_profile.json``), so comparing with it needs neither the published files nor a network.
Distributions are compared by total variation distance (half the sum of absolute differences of the shares),
means and other single figures by their ratio.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmath.puzzles.arith import OPERATORS
from crossmath.puzzles.model import Puzzle
from crossmath.puzzles.solver import analyse

DIFFICULTY_ORDER = ("easy", "medium", "hard")
ALL = "all"
"""The group that pools every puzzle, whatever its difficulty."""

EQUATION_BINS = (("<=7", 0, 7), ("8-10", 8, 10), ("11-13", 11, 13), (">=14", 14, 10**9))
"""Equations per puzzle, binned as the issue does (5-7, 8-10, 11-13, 14-15 for puzzles of 5-15 equations)."""

DISTRIBUTIONS = ("step_shares", "equation_bins", "operator_shares")
FIGURES = ("puzzles", "filled_share", "rows_mean", "cols_mean", "rows_max", "cols_max", "blanks_per_equation",
           "step_shares", "equation_bins", "operator_shares", "number_median", "number_p90", "number_max")
"""Every figure of a group, in the order tables show them."""

GOALS = {"step_shares": 0.06, "equation_bins": 0.10, "operator_shares": 0.05, "blanks_per_equation": 0.05,
         "rows_mean": 0.08, "cols_mean": 0.08, "filled_share": 0.08}
"""What issue 13 asks of a generated set against the published one: the largest total variation distance of a
distribution, or the largest relative difference (|ratio - 1|) of a mean."""

Figures = dict[str, dict[str, Any]]
"""Group (difficulty or ``all``) -> figure name -> value (a number, a share per label, or None if unknown)."""


@dataclass(frozen=True)
class Sample:
    """One puzzle as the profile sees it: only what the figures need."""

    difficulty: str | None
    rows: int
    cols: int
    filled: int
    equations: int
    operators: tuple[str, ...]
    steps: tuple[int, ...]
    """The step level of every blank."""
    shown: tuple[int, ...]
    """The values of the numbers shown (not blank)."""


def sample(puzzle: Puzzle, steps: Sequence[int] | None = None, difficulty: str | None = None) -> Sample:
    """The sample of a puzzle; ``steps`` (each blank's level, as a record stores them) spares solving it."""
    levels = tuple(analyse(puzzle).steps[cell] for cell in puzzle.blanks) if steps is None else tuple(steps)
    filled = len(puzzle.numbers) + 2 * len(puzzle.equations)  # number cells, then an operator and "=" per equation
    return Sample(difficulty or puzzle.info.difficulty, puzzle.rows, puzzle.cols, filled, len(puzzle.equations),
                  tuple(eq.op for eq in puzzle.equations), levels, tuple(puzzle.givens.values()))


def figures(samples: Iterable[Sample]) -> Figures:
    """The figures of each difficulty present (in easy, medium, hard order, others after) and of all together."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.difficulty or "unlabelled", []).append(s)
    if not groups:
        return {}
    order = sorted(groups, key=lambda d: (DIFFICULTY_ORDER.index(d) if d in DIFFICULTY_ORDER else 3, d))
    result = {name: _group(groups[name]) for name in order}
    result[ALL] = _group([s for name in order for s in groups[name]])
    return result


def _shares(counts: Counter, labels: Sequence[str] | None = None) -> dict[str, float]:
    total = sum(counts.values())
    keys = labels if labels is not None else sorted(counts, key=lambda k: (len(k), k))
    return {key: counts[key] / total for key in keys} if total else {}


def _group(samples: list[Sample]) -> dict[str, Any]:
    equations = sum(s.equations for s in samples)
    blanks = [level for s in samples for level in s.steps]
    shown = sorted(v for s in samples for v in s.shown)
    bins = Counter(next(label for label, lo, hi in EQUATION_BINS if lo <= s.equations <= hi) for s in samples)
    ops = Counter(op for s in samples for op in s.operators)
    return {
        "puzzles": len(samples),
        "filled_share": statistics.fmean(s.filled / (s.rows * s.cols) for s in samples),
        "rows_mean": statistics.fmean(s.rows for s in samples),
        "cols_mean": statistics.fmean(s.cols for s in samples),
        "rows_max": max(s.rows for s in samples),
        "cols_max": max(s.cols for s in samples),
        "blanks_per_equation": len(blanks) / equations,
        "step_shares": _shares(Counter(str(level) for level in blanks)),
        "equation_bins": _shares(bins, [label for label, _, _ in EQUATION_BINS]),
        "operator_shares": _shares(ops, OPERATORS),
        "number_median": statistics.median(shown) if shown else None,
        "number_p90": statistics.quantiles(shown, n=10, method="inclusive")[-1] if len(shown) > 1 else None,
        "number_max": shown[-1] if shown else None,
    }


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Half the sum of the absolute differences of two distributions' shares (0: equal, 1: disjoint)."""
    return sum(abs(p.get(key, 0.0) - q.get(key, 0.0)) for key in sorted(set(p) | set(q))) / 2  # fixed order


def distances(ours: Figures, other: Figures) -> Figures:
    """For each group in both: total variation distance of each distribution, ratio (ours / other) of the rest;
    None where either side lacks the figure (and for the puzzle count, which is no likeness)."""
    result: Figures = {}
    for group in ours:
        if group not in other:
            continue
        a, b = ours[group], other[group]
        row: dict[str, Any] = {}
        for name in FIGURES:
            x, y = a.get(name), b.get(name)
            if name == "puzzles" or x is None or y is None or (name not in DISTRIBUTIONS and not y):
                row[name] = None
            else:
                row[name] = total_variation(x, y) if name in DISTRIBUTIONS else x / y
        result[group] = row
    return result


def misses(gaps: Figures) -> list[str]:
    """The goals of :data:`GOALS` that ``gaps`` (from :func:`distances`) fails, one line each."""
    found = []
    for group, row in gaps.items():
        for name, limit in GOALS.items():
            value = row.get(name)
            if value is None:
                continue
            off = value if name in DISTRIBUTIONS else abs(value - 1)
            if off > limit + 1e-12:
                found.append(f"{group} {name}: {_format_gap(name, value)} (goal {limit:g})")
    return found


def _format_value(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in DISTRIBUTIONS:
        return " / ".join(f"{key} {share:.3f}" for key, share in value.items())
    if isinstance(value, int) or name.startswith("number_"):
        return f"{value:g}"
    return f"{value:.2f}" if name.endswith("_mean") or value >= 1 else f"{value:.3f}"


def _format_gap(name: str, value: Any) -> str:
    if value is None:
        return "-"
    return f"TV {value:.3f}" if name in DISTRIBUTIONS else f"x{value:.3f}"


def table(ours: Figures, other: Figures | None = None, names: tuple[str, str] = ("this", "other")) -> list[str]:
    """The figures as markdown table lines, one row per group and figure; with ``other``, its figures and the
    distance too (a goal of :data:`GOALS` that is missed is marked with ``!``)."""
    gaps = distances(ours, other) if other is not None else {}
    header = ["group", "figure", names[0]] + ([names[1], "distance"] if other is not None else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, row in ours.items():
        for name in FIGURES:
            cells = [group, name.replace("_", " "), _format_value(name, row.get(name))]
            if other is not None:
                gap = gaps.get(group, {}).get(name)
                missed = group in gaps and misses({group: {name: gap}})
                cells += [_format_value(name, other.get(group, {}).get(name)),
                          _format_gap(name, gap) + (" !" if missed else "")]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _load_published() -> Figures:
    data = json.loads(Path(__file__).with_name("published_profile.json").read_text(encoding="utf-8"))
    return data["difficulties"]


PUBLISHED: Figures = _load_published()
"""The figures of the published test set, per difficulty and ``all`` (None where the issue gives none)."""
