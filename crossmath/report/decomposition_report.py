"""The decomposition's place in a report: its tables and its figure (the gap split into perception and
integration per model and style), in the style of the report's other figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from crossmath.report.decomposition import PARTS, Decomposition
from crossmath.report.figures import COLUMN_WIDTH, INTERVAL, PANEL_HEIGHT, STYLE, FigureFile, save, short_model
from crossmath.report.stats import Difference, Estimate
from crossmath.report.tables import Table

LOSS_COLOURS = {"perception": "#56B4E9", "integration": "#D55E00"}
"""Okabe-Ito sky blue and vermillion: the two parts of the gap."""
CAPTION = ("The gap to text split into perception (text - two-stage: the cost of the model's own reading) and "
           "integration (two-stage - image: the cost of reasoning over the image rather than over text); the "
           "diamond is the whole gap, text - image.")


def _cell(value: Estimate | Difference | None) -> str:
    return "" if value is None else value.cell()


def _number(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{suffix}"


def decomposition_tables(rows: Sequence[Decomposition], metric: str) -> list[Table]:
    if not rows:
        return []
    gap = Table(
        f"Why the gap: perception and integration ({metric} accuracy, %)",
        "text: a perfect reading; two-stage: the model's own transcription, solved as text; image: end to end. "
        "Losses in percentage points on shared puzzles: mean [95% bootstrap interval] and sign-flip p. Explained: "
        "wrong image answers whose own transcription misread a cell of an equation through a wrong blank.",
        ("model", "style", "text", "two-stage", "image", "perception loss", "integration loss",
         "explained by misreading"),
        tuple((d.model, d.style, _cell(d.text.get(metric)), _cell(d.two_stage.get(metric)),
               _cell(d.image.get(metric)), _cell(d.perception_loss[metric]), _cell(d.integration_loss[metric]),
               "n/a" if d.explained_by_misreading["share"] is None else
               f"{d.explained_by_misreading['share']:.1f}% of {d.explained_by_misreading['wrong']}")
              for d in rows))
    effort = Table(
        "Token cost and reasoning effort",
        "Per modality, means over replies: prompt tokens (what the image costs against its text), generated "
        "tokens, and the share of replies that write out an equation before the answer; image/text is the ratio. "
        "Two-stage: its second stage (solving the transcription) only.",
        ("model", "style", "modality", "prompt tokens", "generated tokens", "shows work (%)"),
        tuple((d.model, d.style, part.replace("_", "-"), _number(d.effort[part].prompt_tokens),
               _number(d.effort[part].generated_tokens), _number(d.effort[part].shows_work))
              for d in rows for part in PARTS)
        + tuple((d.model, d.style, "image/text", _number(d.ratio["prompt_tokens"], 2, "x"),
                 _number(d.ratio["generated_tokens"], 2, "x"), _number(d.ratio["shows_work"], 2, "x"))
                for d in rows))
    return [gap, effort]


def decomposition_figure(rows: Sequence[Decomposition], metric: str) -> Figure | None:
    """Per model and style, the perception and integration losses side by side with their intervals, and the
    whole gap as a diamond."""
    if not rows:
        return None
    width = 0.36
    figure = Figure(figsize=(max(COLUMN_WIDTH, 1.0 + 0.9 * len(rows)), PANEL_HEIGHT + 0.4), layout="constrained")
    axis = figure.add_subplot()
    for k, (part, colour) in enumerate(LOSS_COLOURS.items()):
        losses = [getattr(d, f"{part}_loss")[metric] for d in rows]
        x = [i + (k - 0.5) * width for i in range(len(rows))]
        means = [loss.mean if loss else float("nan") for loss in losses]
        errors = [[loss.mean - loss.low if loss else 0.0 for loss in losses],
                  [loss.high - loss.mean if loss else 0.0 for loss in losses]]
        axis.bar(x, means, width * 0.92, yerr=errors, label=part, color=colour,
                 hatch="" if part == "perception" else "///", edgecolor="white", linewidth=0.3)
    whole = [d.text[metric].mean - d.image[metric].mean if metric in d.text and metric in d.image else float("nan")
             for d in rows]
    axis.scatter(range(len(rows)), whole, marker="D", color="black", s=10, zorder=3, label="text - image")
    axis.axhline(0, color="black", linewidth=0.5)
    reach = [v for d in rows for loss in (d.perception_loss[metric], d.integration_loss[metric]) if loss
             for v in (loss.low, loss.high)] + [w for w in whole if w == w]
    axis.set_ylim(min(0.0, *reach) * 1.15 - 1, max(0.0, *reach) * 1.3 + 1)  # room for the legend
    axis.set_xticks(range(len(rows)), [f"{short_model(d.model)}\n{d.style}" for d in rows])
    axis.set_ylabel(f"loss in {metric} accuracy (points)")
    axis.legend(frameon=False, ncols=3, loc="upper center")
    axis.set_title("The modality gap split into perception and integration")
    return figure


def write_decomposition_figure(rows: Sequence[Decomposition], metric: str, folder: Path) -> list[FigureFile]:
    """``decomposition.png`` and ``.svg`` in ``folder`` when there is a decomposition; what was written."""
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        figure = decomposition_figure(rows, metric)
        if figure is None:
            return []
        save(figure, folder, "decomposition")
    return [FigureFile("decomposition", CAPTION + " " + INTERVAL)]
