"""The report's tables, built from a summary as plain rows so that markdown and HTML show the same cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crossmath.eval.metrics import STEP_CATEGORIES
from crossmath.eval.prompts import MODALITIES
from crossmath.report.stats import Agreement, Difference, Estimate
from crossmath.report.summary import Summary


@dataclass(frozen=True)
class Table:
    title: str
    note: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""] + ([self.note, ""] if self.note else [])
        lines += ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def _estimate(value: Estimate | None) -> str:
    return "" if value is None else value.cell()


def _difference(value: Difference | None) -> str:
    return "" if value is None else value.cell()


def _share(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}"


def gap_table(summary: Summary) -> Table:
    metric = summary.metric
    rows = tuple((g.model, g.style, *(_estimate(getattr(g.modalities[m], metric)) if m in g.modalities else ""
                                      for m in MODALITIES),
                  _difference(g.gaps["image"][metric]), _difference(g.gaps["hybrid"][metric]))
                 for g in summary.groups)
    return Table(f"Modality gap ({metric} accuracy, %)",
                 "Accuracy: mean [95% bootstrap interval over puzzles]. Gaps are in percentage points on shared "
                 "puzzles: mean [95% bootstrap interval] and sign-flip permutation p-value.",
                 ("model", "style", "text", "image", "hybrid", "image - text", "hybrid - text"), rows)


def step_table(summary: Summary) -> Table | None:
    rows = tuple((g.model, g.style, m, *(_estimate(s.steps.get(step)) for step in STEP_CATEGORIES))
                 for g in summary.groups for m, s in g.modalities.items() if s.steps)
    if not rows:
        return None
    return Table("Accuracy by step level (%)", "Blanks pooled by the round in which they can first be solved; "
                 "mean [95% bootstrap interval over puzzles]. Empty where no blank has that level.",
                 ("model", "style", "modality", *STEP_CATEGORIES), rows)


def _agreement_row(unit: str, table: Agreement) -> tuple[str, ...]:
    kappa = table.kappa
    return (unit, str(table.both), str(table.first), str(table.second), str(table.neither), _share(table.agreement),
            "n/a" if kappa is None else f"{kappa:.3f}", f"{table.mcnemar_p:.4g}")


def consistency_table(summary: Summary) -> Table | None:
    rows = []
    for g in summary.groups:
        for pair in g.pairs:
            label = (g.model, g.style, f"{pair.first} vs {pair.second}")
            rows += [label + _agreement_row("puzzles", pair.puzzles), label + _agreement_row("blanks", pair.blanks)]
        if g.consistent is not None:
            rows.append((g.model, g.style, " & ".join(g.modalities), "consistent accuracy",
                         f"{_share(float(g.consistent['puzzles']))}% of {g.consistent['n']} puzzles solved in "
                         f"every modality; {_share(float(g.consistent['blanks']))}% of their blanks right in every "
                         "modality", "", "", "", "", "", ""))
    if not rows:
        return None
    return Table("Cross-modal consistency",
                 "For each pair of modalities (first vs second), on the puzzles both answered: how many puzzles "
                 "(whole answer) and blanks are right in both, in the first only, in the second only, or in "
                 "neither; agreement (% right in both or wrong in both), Cohen's kappa, and the exact McNemar "
                 "p-value on the discordant units (for blanks only descriptive: blanks of a puzzle are not "
                 "independent). With several samples, a puzzle or blank counts as right when most samples are.",
                 ("model", "style", "pair", "unit", "both", "first only", "second only", "neither", "agreement %",
                  "kappa", "McNemar p"), tuple(rows))


def style_table(summary: Summary) -> Table:
    styles = sorted({g.style for g in summary.groups})
    rows = []
    for model, by_modality in summary.styles.items():
        for modality, by_style in by_modality.items():
            means = [e.mean for e in by_style.values()]
            rows.append((model, modality, *(_estimate(by_style.get(s)) for s in styles),
                         f"{max(means) - min(means):.1f}"))
    return Table(f"Style robustness ({summary.metric} accuracy, %)",
                 "Spread: highest minus lowest mean across the styles run.",
                 ("model", "modality", *styles, "spread"), tuple(rows))


def factor_table(summary: Summary) -> Table | None:
    if not summary.factor_rows:
        return None
    rows = tuple((r.model, r.modality, r.level, r.style, _estimate(r.micro), _estimate(r.macro),
                  _difference(r.difference["micro"]), _difference(r.difference["macro"]))
                 for r in summary.factor_rows)
    return Table(f"Accuracy by {summary.factor} (%)",
                 f"Per level of {summary.factor}: mean [95% bootstrap interval]; the difference to the base level "
                 f"({summary.levels[0]}) is paired puzzle by puzzle where both levels hold the same puzzles, "
                 "else (¹) between independent sets with a permutation p-value.",
                 ("model", "modality", "level", "config", "micro", "macro", "micro - base", "macro - base"), rows)


def all_tables(summary: Summary) -> list[Table]:
    """Every table the summary supports, in report order."""
    tables: Sequence[Table | None] = (gap_table(summary), step_table(summary), consistency_table(summary),
                                      style_table(summary), factor_table(summary))
    return [t for t in tables if t is not None]
