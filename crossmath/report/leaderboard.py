"""The leaderboard: one row per model (an adapter, or a model run with other settings, is a row of its own) over
every style it was run in, ranked by a chosen column.

A model's runs of one modality are pooled across styles, each (style, puzzle) one unit, and the row's figures are
worked out by the same code as the per-style report (:func:`crossmath.report.summary.group_summary`): accuracy per
modality with its bootstrap interval, the paired gaps to text, consistent accuracy, and Cohen's kappa of text and
image. With one style, a row's figures are that style's; with several, accuracies are the mean over every style's
puzzles. Extra columns per model (the gap's split into perception and integration, where those runs exist) are
passed in by the report and appear only when some model has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import MODALITIES
from crossmath.report import RANK_BY
from crossmath.report.outcomes import Run
from crossmath.report.stats import Difference, Estimate
from crossmath.report.summary import GroupSummary, group_summary
from crossmath.report.tables import Table, Value


@dataclass(frozen=True)
class LeaderRow:
    model: str
    styles: tuple[str, ...]
    group: GroupSummary
    """The model's runs pooled over its styles, summarized like one style's."""
    extra: dict[str, Value] = field(default_factory=dict)
    """Further columns of this model (e.g. ``perception loss``, ``integration loss``), by header."""

    def accuracy(self, modality: str, metric: str) -> Estimate | None:
        scores = self.group.modalities.get(modality)
        return None if scores is None else getattr(scores, metric)

    def gap(self, modality: str, metric: str) -> Difference | None:
        return self.group.gaps[modality][metric]

    @property
    def consistent(self) -> float | None:
        return None if self.group.consistent is None else 100 * float(self.group.consistent["puzzles"])

    @property
    def kappa(self) -> float | None:
        pair = next((p for p in self.group.pairs if (p.first, p.second) == ("text", "image")), None)
        return None if pair is None else pair.puzzles.kappa

    def sort_value(self, column: str, metric: str) -> float | None:
        """The row's value in a rank column, larger is better (a gap's distance from zero counts against it)."""
        if column in MODALITIES:
            estimate = self.accuracy(column, metric)
            return None if estimate is None else estimate.mean
        if column in ("image-text", "hybrid-text"):
            gap = self.gap(column.split("-")[0], metric)
            return None if gap is None else -abs(gap.mean)
        return self.consistent if column == "consistent" else self.kappa


def pooled(runs: Sequence[Run]) -> Run:
    """Runs of one model and modality in several styles as one run whose units are (style, puzzle)."""
    first = runs[0]
    puzzles = {f"{run.style}/{pid}": outcome for run in runs for pid, outcome in run.puzzles.items()}
    items = None
    if all(run.items is not None for run in runs):
        items = {f"{run.style}/{pid}": item for run in runs for pid, item in (run.items or {}).items()}
    styles = "+".join(run.style for run in runs)
    return replace(first, config={**first.config, "style": styles}, puzzles=puzzles, items=items)


def leaderboard(runs: Sequence[Run], metric: str = "micro", rank_by: str = "consistent",
                extra: Mapping[str, Mapping[str, Value]] | None = None) -> list[LeaderRow]:
    """One row per model label, ranked by ``rank_by`` (rows without a value last, then by name); ``extra`` gives
    further columns by model label."""
    if rank_by not in RANK_BY:
        raise CrossmathError(f"--rank-by must be one of {', '.join(RANK_BY)}, not {rank_by!r}")
    by_model: dict[str, dict[str, list[Run]]] = {}
    for run in runs:
        by_model.setdefault(run.model, {}).setdefault(run.modality, []).append(run)
    rows = []
    for model, by_modality in by_model.items():
        ordered = {m: by_modality[m] for m in (*MODALITIES, *sorted(by_modality)) if m in by_modality}
        styles = tuple(dict.fromkeys(run.style for group in ordered.values() for run in group))
        merged = {m: pooled(sorted(group, key=lambda run: styles.index(run.style))) for m, group in ordered.items()}
        rows.append(LeaderRow(model, styles, group_summary(model, "+".join(styles), merged),
                              dict((extra or {}).get(model, {}))))

    def key(row: LeaderRow) -> tuple[bool, float, str]:
        value = row.sort_value(rank_by, metric)
        return value is None, -(value or 0.0), row.model

    return sorted(rows, key=key)


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def leaderboard_table(rows: Sequence[LeaderRow], metric: str, rank_by: str) -> Table:
    extra = list(dict.fromkeys(name for row in rows for name in row.extra))
    header = ("rank", "model", "styles", "text", "image", "hybrid", "image - text", "hybrid - text",
              "consistent %", "kappa", *extra)
    body = []
    for rank, row in enumerate(rows, start=1):
        cells: list[Value] = [str(rank), row.model, ", ".join(row.styles)]
        cells += [row.accuracy(m, metric) or "" for m in MODALITIES]
        cells += [row.gap(m, metric) or "" for m in ("image", "hybrid")]
        cells += [_number(row.consistent, 1), _number(row.kappa, 3)]
        cells += [row.extra.get(name, "") for name in extra]
        body.append(tuple(cells))
    return Table(f"Leaderboard ({metric} accuracy, %, ranked by {rank_by})",
                 "One row per model (an adapter, or other settings, is a row of its own), its runs pooled over the "
                 "styles shown, each (style, puzzle) one unit. Accuracy: mean [95% bootstrap interval]; gaps in "
                 "percentage points on shared units with a sign-flip p-value; consistent: share of puzzles solved "
                 "in every modality run; kappa: Cohen's kappa of text and image on solved puzzles.",
                 header, tuple(body), "leaderboard",
                 (None, None, None, "high", "high", "high", "zero", "zero", "high", "high", *["zero"] * len(extra)))


def leaderboard_json(rows: Sequence[LeaderRow], metric: str) -> list[dict[str, Any]]:
    """The leaderboard for ``summary.json``."""
    from crossmath.report.summary import to_json

    return [{"rank": rank, "model": row.model, "styles": list(row.styles),
             "accuracy": {m: to_json(row.accuracy(m, metric)) for m in MODALITIES},
             "gaps": {m: to_json(row.gap(m, metric)) for m in ("image", "hybrid")},
             "consistent": row.consistent, "kappa": row.kappa, **({"extra": to_json(row.extra)} if row.extra else {})}
            for rank, row in enumerate(rows, start=1)]
