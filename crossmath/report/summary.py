"""The numbers of a report, worked out once from the runs: accuracy per modality and step level, the gaps to text,
cross-modal consistency, style robustness and accuracy by factor level. Tables, figures, the HTML page and the
JSON summary all read them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from itertools import combinations
from typing import Any

from crossmath.eval.metrics import STEP_CATEGORIES
from crossmath.eval.prompts import MODALITIES
from crossmath.puzzles.text import markdown_grid
from crossmath.report.outcomes import ReportError, Run
from crossmath.report.stats import Agreement, Difference, Estimate, accuracy, paired_difference, unpaired_difference

METRICS = ("micro", "macro")


@dataclass(frozen=True)
class ModalityScores:
    micro: Estimate
    macro: Estimate
    steps: dict[str, Estimate | None]
    """Accuracy by step level, pooled over blanks (empty when the dataset cannot be read)."""


@dataclass(frozen=True)
class PairConsistency:
    """Two modalities on the puzzles both answered: per puzzle (solved or not) and per blank (right or not)."""

    first: str
    second: str
    puzzles: Agreement
    blanks: Agreement


@dataclass(frozen=True)
class GroupSummary:
    """One model on one style, in every modality it was run in."""

    model: str
    style: str
    modalities: dict[str, ModalityScores]
    gaps: dict[str, dict[str, Difference | None]]
    """``image`` and ``hybrid`` minus ``text``, by metric."""
    pairs: list[PairConsistency]
    consistent: dict[str, float | int] | None
    """Share of puzzles solved (and of blanks right) in every modality, over the puzzles all of them answered."""


@dataclass(frozen=True)
class FactorRow:
    model: str
    modality: str
    level: str
    style: str
    micro: Estimate
    macro: Estimate
    difference: dict[str, Difference | None]
    """This level minus the base level, by metric (None at the base)."""


@dataclass(frozen=True)
class Summary:
    metric: str
    groups: list[GroupSummary]
    styles: dict[str, dict[str, dict[str, Estimate]]]
    """model -> modality -> style -> accuracy (the chosen metric)."""
    factor: str | None
    levels: list[str]
    factor_rows: list[FactorRow]


def by_group(runs: Sequence[Run]) -> dict[tuple[str, str], dict[str, Run]]:
    """Runs by (model, style), then modality, in the order given."""
    groups: dict[tuple[str, str], dict[str, Run]] = {}
    for run in runs:
        groups.setdefault((run.model, run.style), {})[run.modality] = run
    return {key: dict(sorted(value.items(), key=lambda kv: _modality_rank(kv[0]))) for key, value in groups.items()}


def _modality_rank(modality: str) -> int:
    return MODALITIES.index(modality) if modality in MODALITIES else len(MODALITIES)


def step_accuracy(run: Run) -> dict[str, Estimate | None]:
    """Accuracy by step level, pooled over blanks, resampling puzzles for the interval."""
    if run.items is None:
        return {}
    right: dict[str, list[float]] = {step: [] for step in STEP_CATEGORIES}
    total: dict[str, list[float]] = {step: [] for step in STEP_CATEGORIES}
    for pid, outcome in run.puzzles.items():
        steps = run.steps(pid)
        if steps is None:
            raise ReportError(f"{run.path}: puzzle {pid} is not in the run's dataset")
        if any(len(c) != len(steps) for c in outcome.correct):
            raise ReportError(f"{run.path}: puzzle {pid} has {len(steps)} blanks in the dataset but not in the run")
        for step in STEP_CATEGORIES:
            blanks = [j for j, s in enumerate(steps) if s == step]
            right[step].append(sum(sum(c[j] for j in blanks) for c in outcome.correct) / len(outcome.correct))
            total[step].append(len(blanks))
    return {step: accuracy(right[step], total[step]) for step in STEP_CATEGORIES}


def modality_scores(run: Run) -> ModalityScores:
    micro = accuracy([o.micro for o in run.puzzles.values()])
    macro = accuracy([o.macro for o in run.puzzles.values()])
    assert micro is not None and macro is not None  # a run holds at least one puzzle
    return ModalityScores(micro, macro, step_accuracy(run))


def consistency(by_modality: dict[str, Run]) -> tuple[list[PairConsistency], dict[str, float | int] | None]:
    """Every pair of modalities' agreement, and consistent accuracy across all of them."""
    pairs = []
    for a, b in combinations(by_modality, 2):
        first, second = by_modality[a].puzzles, by_modality[b].puzzles
        shared = sorted(set(first) & set(second))
        blanks_a = [x for pid in shared for x in first[pid].blanks_right]
        blanks_b = [x for pid in shared for x in second[pid].blanks_right]
        if len(blanks_a) != len(blanks_b):
            raise ReportError(f"{by_modality[a].path} and {by_modality[b].path} disagree on the number of blanks")
        pairs.append(PairConsistency(a, b, Agreement.count([first[p].solved for p in shared],
                                                           [second[p].solved for p in shared]),
                                     Agreement.count(blanks_a, blanks_b)))
    if len(by_modality) < 2:
        return pairs, None
    shared_all = sorted(set.intersection(*(set(run.puzzles) for run in by_modality.values())))
    if not shared_all:
        return pairs, None
    runs = list(by_modality.values())
    solved = sum(all(run.puzzles[p].solved for run in runs) for p in shared_all)
    blank_rows = [list(zip(*(run.puzzles[p].blanks_right for run in runs))) for p in shared_all]
    blanks = [all(row) for rows in blank_rows for row in rows]
    return pairs, {"puzzles": solved / len(shared_all), "blanks": sum(blanks) / len(blanks) if blanks else 0.0,
                   "n": len(shared_all)}


def group_summary(model: str, style: str, by_modality: dict[str, Run]) -> GroupSummary:
    scores = {m: modality_scores(run) for m, run in by_modality.items()}
    text = by_modality.get("text")
    gaps = {m: {metric: paired_difference(text.scores(metric), by_modality[m].scores(metric))
                if text is not None and m in by_modality else None for metric in METRICS}
            for m in ("image", "hybrid")}
    pairs, consistent = consistency(by_modality)
    return GroupSummary(model, style, scores, gaps, pairs, consistent)


def style_table(groups: Sequence[GroupSummary], metric: str) -> dict[str, dict[str, dict[str, Estimate]]]:
    table: dict[str, dict[str, dict[str, Estimate]]] = {}
    for group in groups:
        for modality, scores in group.modalities.items():
            table.setdefault(group.model, {}).setdefault(modality, {})[group.style] = getattr(scores, metric)
    return table


def level_order(levels: Sequence[str]) -> list[str]:
    """Levels in numeric order when every level is a number, else as text."""
    unique = sorted(set(levels))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def _solved_grids(run: Run) -> dict[str, tuple[tuple[str, ...], ...]] | None:
    """Each puzzle's solved grid (layout and every number), to tell whether two configs hold the same puzzles."""
    if run.items is None:
        return None
    grids = {}
    for pid in run.puzzles:
        item = run.items.get(pid)
        if item is None or "markdown" not in item.texts:
            return None
        answers = iter(item.answer)
        grids[pid] = tuple(tuple(next(answers, "?") if cell == "?" else cell for cell in row)
                           for row in markdown_grid(item.texts["markdown"]))
    return grids


def paired(base: Run, other: Run) -> bool:
    """Whether two runs answer the same puzzles: the same ids with the same solved grids (blanks may differ, as
    in a depth ladder on one grid)."""
    a, b = _solved_grids(base), _solved_grids(other)
    shared = set(base.puzzles) & set(other.puzzles)
    return a is not None and b is not None and bool(shared) and all(a[p] == b[p] for p in shared)


def factor_rows(runs: Sequence[Run], factor: str) -> tuple[list[str], list[FactorRow]]:
    """Accuracy per level of ``factor`` for each model and modality, with the difference to the base (lowest)
    level: paired puzzle by puzzle where the levels hold the same puzzles, else between independent sets."""
    lacking = [str(run.path) for run in runs if factor not in run.factors]
    if lacking:
        known = sorted({name for run in runs for name in run.factors})
        raise ReportError(f"no factor {factor!r} in the config.json of {', '.join(lacking[:3])}"
                          + (f" (factors there: {', '.join(known)})" if known else " (no 'factors' recorded)"))
    levels = level_order([run.factors[factor] for run in runs])
    cells: dict[tuple[str, str], dict[str, Run]] = {}
    for run in runs:
        others = {k: v for k, v in run.factors.items() if k != factor}
        model = run.model + "".join(f", {k}={v}" for k, v in sorted(others.items()))
        runs_by_level = cells.setdefault((model, run.modality), {})
        if run.factors[factor] in runs_by_level:
            raise ReportError(f"{runs_by_level[run.factors[factor]].path} and {run.path} both hold {factor}="
                              f"{run.factors[factor]} for {model}, {run.modality}")
        runs_by_level[run.factors[factor]] = run
    rows = []
    for (model, modality), by_level in sorted(cells.items(), key=lambda kv: (kv[0][0], _modality_rank(kv[0][1]))):
        ordered = [level for level in levels if level in by_level]
        base = by_level[ordered[0]]
        for level in ordered:
            run = by_level[level]
            scores = modality_scores(run)
            difference: dict[str, Difference | None] = dict.fromkeys(METRICS)
            if run is not base:
                same = paired(base, run)
                for metric in METRICS:
                    difference[metric] = (paired_difference(base.scores(metric), run.scores(metric)) if same else
                                          unpaired_difference(list(base.scores(metric).values()),
                                                              list(run.scores(metric).values())))
            rows.append(FactorRow(model, modality, level, run.style, scores.micro, scores.macro, difference))
    return levels, rows


def summarize_runs(runs: Sequence[Run], metric: str = "micro", factor: str | None = None) -> Summary:
    groups = [group_summary(model, style, by_modality) for (model, style), by_modality in by_group(runs).items()]
    levels, rows = factor_rows(runs, factor) if factor else ([], [])
    return Summary(metric, groups, style_table(groups, metric), factor, levels, rows)


def to_json(value: Any) -> Any:
    """The summary as JSON-ready data (dataclasses as dicts, agreements with their statistics)."""
    if isinstance(value, Agreement):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value
