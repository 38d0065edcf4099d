"""The report's figures, drawn with matplotlib: headless (no pyplot, no display), sized for a paper's column,
in a colour-blind-safe palette (Okabe-Ito) with a marker per modality, written as PNG and SVG with the same bytes
on every rerun (no dates or versions in the metadata, a fixed SVG id salt).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from crossmath.eval.metrics import STEP_CATEGORIES
from crossmath.report.stats import RESAMPLES, Estimate
from crossmath.report.summary import Summary

COLUMN_WIDTH = 3.5
"""Inches: one column of a two-column paper."""
PANEL_HEIGHT = 2.5
DPI = 200
COLOURS = {"text": "#0072B2", "image": "#E69F00", "hybrid": "#009E73"}
MARKERS = {"text": "o", "image": "s", "hybrid": "^"}
OTHER = "#CC79A7"
AGREEMENT_COLOURS = ("#009E73", "#56B4E9", "#E69F00", "#BBBBBB")
INTERVAL = f"Whiskers: 95% percentile-bootstrap intervals over puzzles ({RESAMPLES:,} resamples)."
STYLE: dict[str, Any] = {
    "svg.hashsalt": "crossmath", "svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 7,
    "axes.titlesize": 7, "axes.labelsize": 7, "legend.fontsize": 6, "xtick.labelsize": 6, "ytick.labelsize": 6,
    "axes.grid": True, "axes.grid.axis": "y", "grid.alpha": 0.35, "grid.linewidth": 0.5,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.2, "lines.markersize": 4,
    "errorbar.capsize": 2, "hatch.linewidth": 0.5,
}


@dataclass(frozen=True)
class FigureFile:
    """A written figure: its name (files ``NAME.png`` and ``NAME.svg``) and the caption to print under it."""

    name: str
    caption: str


def short_model(model: str) -> str:
    """A model's name for a figure label: a Hub id's or folder's last part (and its adapter's)."""
    return " + ".join(part.strip().rstrip("/").rsplit("/", 1)[-1] for part in model.split(" + "))


def save(figure: Figure, folder: Path, name: str) -> None:
    """``NAME.png`` and ``NAME.svg``; the layout is worked out once, for the PNG, and the SVG keeps it (a second
    constrained-layout pass took a third of the SVG's time)."""
    figure.savefig(folder / f"{name}.png", dpi=DPI, metadata={"Software": None})
    figure.set_layout_engine("none")
    figure.savefig(folder / f"{name}.svg", metadata={"Date": None, "Creator": None})


def _panels(count: int) -> Figure:
    columns = 1 if count == 1 else 2
    rows = -(-count // columns)
    figure = Figure(figsize=(COLUMN_WIDTH * columns, PANEL_HEIGHT * rows + 0.3), layout="constrained")
    figure.subplots(rows, columns, squeeze=False)
    for axis in figure.axes[count:]:
        axis.set_visible(False)
    return figure


def _whiskers(estimates: Sequence[Estimate | None]) -> tuple[list[float], list[list[float]]]:
    means = [e.mean if e else float("nan") for e in estimates]
    errors = [[e.mean - e.low if e else 0.0 for e in estimates], [e.high - e.mean if e else 0.0 for e in estimates]]
    return means, errors


def _lines(axis: Axes, labels: Sequence[str], series: Mapping[str, Sequence[Estimate | None]], xlabel: str,
           ylabel: str) -> None:
    """One line per modality over categorical x positions, with interval whiskers."""
    offset = 0.06
    for k, (modality, estimates) in enumerate(series.items()):
        means, errors = _whiskers(estimates)
        x = [i + (k - (len(series) - 1) / 2) * offset for i in range(len(labels))]
        axis.errorbar(x, means, yerr=errors, label=modality, color=COLOURS.get(modality, OTHER),
                      marker=MARKERS.get(modality, "D"))
    axis.set_xticks(range(len(labels)), labels)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 105)
    axis.legend(title="modality", frameon=False, loc="best")


def modality_figure(summary: Summary) -> Figure:
    """(a) Accuracy by modality for each model and style, with each gap to text written above its bar."""
    metric = summary.metric
    groups = summary.groups
    width = 0.26
    figure = Figure(figsize=(max(COLUMN_WIDTH, 1.0 + 0.9 * len(groups)), PANEL_HEIGHT + 0.4), layout="constrained")
    axis = figure.add_subplot()
    modalities = [m for m in COLOURS if any(m in g.modalities for g in groups)]
    for k, modality in enumerate(modalities):
        x = [i + (k - (len(modalities) - 1) / 2) * width for i in range(len(groups))]
        estimates = [getattr(g.modalities[modality], metric) if modality in g.modalities else None for g in groups]
        means, errors = _whiskers(estimates)
        axis.bar(x, means, width * 0.92, yerr=errors, label=modality, color=COLOURS[modality],
                 hatch={"image": "///", "hybrid": "..."}.get(modality, ""), edgecolor="white", linewidth=0.3)
        for xi, group, top in zip(x, groups, [m + e for m, e in zip(means, errors[1])]):
            gap = group.gaps.get(modality, {}).get(metric)
            if gap is not None:
                axis.annotate(f"{gap.mean:+.1f}", (xi, min(top, 100) + 1.5), ha="center", fontsize=5.5)
    axis.set_xticks(range(len(groups)), [f"{short_model(g.model)}\n{g.style}" for g in groups])
    axis.set_ylabel(f"{metric} accuracy (%)")
    axis.set_ylim(0, 112)
    axis.legend(title="modality", frameon=False, ncols=len(modalities), loc="upper right")
    axis.set_title(f"{metric.capitalize()} accuracy by modality (gap to text in points above bars)")
    return figure


def step_figure(summary: Summary) -> Figure | None:
    """(b) Accuracy by step level, one line per modality, one panel per model and style."""
    groups = [g for g in summary.groups if any(s.steps for s in g.modalities.values())]
    if not groups:
        return None
    figure = _panels(len(groups))
    for axis, group in zip(figure.axes, groups):
        _lines(axis, STEP_CATEGORIES, {m: [s.steps.get(step) for step in STEP_CATEGORIES]
                                       for m, s in group.modalities.items()},
               "step level of the blank", "accuracy on blanks (%)")
        axis.set_title(f"{short_model(group.model)}, {group.style}")
    return figure


def style_figure(summary: Summary) -> Figure | None:
    """(c) Style robustness: accuracy per style, one line per modality, one panel per model."""
    styles = sorted({g.style for g in summary.groups})
    if len(styles) < 2:
        return None
    figure = _panels(len(summary.styles))
    for axis, (model, by_modality) in zip(figure.axes, summary.styles.items()):
        _lines(axis, styles, {m: [by_style.get(s) for s in styles] for m, by_style in by_modality.items()},
               "style", f"{summary.metric} accuracy (%)")
        axis.set_title(short_model(model))
    return figure


def factor_figure(summary: Summary) -> Figure | None:
    """(d) Accuracy against a factor's levels, one line per modality, one panel per model."""
    if not summary.factor_rows:
        return None
    models = list(dict.fromkeys(row.model for row in summary.factor_rows))
    figure = _panels(len(models))
    for axis, model in zip(figure.axes, models):
        series: dict[str, list[Estimate | None]] = {}
        for row in summary.factor_rows:
            if row.model == model:
                series.setdefault(row.modality, [None] * len(summary.levels))[summary.levels.index(row.level)] = \
                    getattr(row, summary.metric)
        _lines(axis, summary.levels, series, str(summary.factor), f"{summary.metric} accuracy (%)")
        axis.set_title(short_model(model))
    return figure


def consistency_figure(summary: Summary) -> Figure | None:
    """Cross-modal consistency: for each pair of modalities, the share of puzzles solved in both, in one only,
    or in neither, with Cohen's kappa."""
    rows = [(group, pair) for group in summary.groups for pair in group.pairs if pair.puzzles.n]
    if not rows:
        return None
    figure = Figure(figsize=(COLUMN_WIDTH * 1.4, 0.6 + 0.28 * len(rows)), layout="constrained")
    axis = figure.add_subplot()
    labels = ["both", "first only", "second only", "neither"]
    for y, (_group, pair) in enumerate(rows):
        counts = [pair.puzzles.both, pair.puzzles.first, pair.puzzles.second, pair.puzzles.neither]
        left = 0.0
        for k, count in enumerate(counts):
            share = 100 * count / pair.puzzles.n
            axis.barh(y, share, left=left, color=AGREEMENT_COLOURS[k], label=labels[k] if y == 0 else None,
                      edgecolor="white", linewidth=0.3)
            left += share
        kappa = pair.puzzles.kappa
        axis.annotate("κ n/a" if kappa is None else f"κ={kappa:.2f}", (101, y), va="center", fontsize=5.5,
                      annotation_clip=False)
    axis.set_yticks(range(len(rows)), [f"{short_model(g.model)}, {g.style}: {p.first} | {p.second}"
                                       for g, p in rows])
    axis.invert_yaxis()
    axis.set_xlim(0, 100)
    axis.set_xlabel("share of puzzles (%)")
    axis.grid(axis="x")
    axis.legend(frameon=False, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return figure


DRAWERS: tuple[tuple[str, Callable[[Summary], Figure | None], str], ...] = (
    ("modalities", modality_figure, "Accuracy by modality for each model and style; the number above an image or "
     "hybrid bar is its paired gap to text in percentage points."),
    ("steps", step_figure, "Accuracy by step level of the blank (step1: solvable from the givens; step4+: four or "
     "more rounds deep), blanks pooled, per modality."),
    ("styles", style_figure, "Style robustness: accuracy in each image style, per modality."),
    ("factor", factor_figure, "Accuracy against the factor's levels, one line per modality."),
    ("consistency", consistency_figure, "Cross-modal consistency: share of puzzles solved in both modalities of a "
     "pair, in the first only, in the second only, or in neither; κ is Cohen's kappa (puzzles, majority of "
     "samples)."),
)


def write_figures(summary: Summary, folder: Path) -> list[FigureFile]:
    """Draw every figure the summary supports into ``folder`` (PNG and SVG); returns what was written."""
    written = []
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        for name, draw, caption in DRAWERS:
            figure = draw(summary)
            if figure is None:
                continue
            if name == "factor":
                name = "factor-" + re.sub(r"[^A-Za-z0-9._-]+", "_", str(summary.factor))
            save(figure, folder, name)
            interval = "" if name == "consistency" else " " + INTERVAL
            written.append(FigureFile(name, caption + interval))
    return written


MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
"""Okabe-Ito, one per model (repeating past eight, with the model's name written beside its point)."""


def image_text_figure(points: Sequence[tuple[str, Estimate, Estimate]], metric: str) -> Figure | None:
    """The leaderboard's figure: each model's image accuracy against its text accuracy, with both intervals and
    the diagonal (no gap); points below it read text better than images. Drawn for two models or more."""
    if len(points) < 2:
        return None
    figure = Figure(figsize=(COLUMN_WIDTH, COLUMN_WIDTH), layout="constrained")
    axis = figure.add_subplot()
    axis.plot([0, 100], [0, 100], color="#888888", linestyle="--", linewidth=0.8, label="image = text")
    for k, (model, text, image) in enumerate(points):
        colour = MODEL_COLOURS[k % len(MODEL_COLOURS)]
        axis.errorbar([text.mean], [image.mean], xerr=[[text.mean - text.low], [text.high - text.mean]],
                      yerr=[[image.mean - image.low], [image.high - image.mean]], color=colour, marker="o",
                      linestyle="none")
        axis.annotate(short_model(model), (text.mean, image.mean), xytext=(3, 3), textcoords="offset points",
                      fontsize=5.5, color=colour)
    axis.set_xlim(0, 100)
    axis.set_ylim(0, 100)
    axis.set_aspect("equal")
    axis.grid(axis="both")
    axis.set_xlabel(f"text {metric} accuracy (%)")
    axis.set_ylabel(f"image {metric} accuracy (%)")
    axis.legend(frameon=False, loc="upper left")
    return figure


def write_image_text_figure(points: Sequence[tuple[str, Estimate, Estimate]], metric: str,
                            folder: Path) -> FigureFile | None:
    """Draw :func:`image_text_figure` into ``folder`` as ``image-vs-text`` (PNG and SVG), where it applies."""
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        figure = image_text_figure(points, metric)
        if figure is None:
            return None
        save(figure, folder, "image-vs-text")
    return FigureFile("image-vs-text", "Image against text accuracy, one point per model (its runs pooled over "
                      "styles); the dashed diagonal is no gap, and points below it do better from text. " + INTERVAL)
