"""The modality-gap report across runs: gap tables with paired tests and confidence intervals, the
style-robustness table, and a bar chart of the gaps.

A gap is measured on the puzzles both runs share: per puzzle, the accuracy (micro: share of blanks right; macro:
whole answer right), averaged over samples; the gap is the mean of the per-puzzle differences. Its 95% interval is
a percentile bootstrap over puzzles and its p-value a two-sided sign-flip permutation test (both seeded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import MODALITIES
from crossmath.eval.grouping import row_labels
from crossmath.eval.rundir import PREDICTIONS, answered, read_config, read_predictions

RESAMPLES = 10_000
SEED = 0


class ReportError(CrossmathError):
    """Run folders that cannot be reported on."""


@dataclass(frozen=True)
class RunScores:
    """Per-puzzle accuracies of one run."""

    model: str
    style: str
    modality: str
    micro: dict[str, float]
    macro: dict[str, float]

    def per_puzzle(self, metric: str) -> dict[str, float]:
        return self.micro if metric == "micro" else self.macro


def load_run(path: str | Path, label: str) -> RunScores:
    """A run's per-puzzle scores, under its row label (see :func:`crossmath.eval.grouping.row_labels`)."""
    path = Path(path)
    config = read_config(path)
    if not isinstance(config.get("style"), str) or config.get("modality") not in MODALITIES:
        raise ReportError(f"{path / 'config.json'}: needs a style (text) and a modality ({', '.join(MODALITIES)})")
    try:
        predictions = answered(read_predictions(path / PREDICTIONS))
    except OSError:
        raise ReportError(f"{path} is not a crossmath-eval run folder (config.json and predictions.jsonl)") from None
    if not predictions:
        raise ReportError(f"{path} has no answered predictions to report on")
    shares: dict[str, list[float]] = {}
    exact: dict[str, list[float]] = {}
    for record in predictions:
        correct = record.get("correct")
        if not isinstance(correct, list) or not correct or not all(isinstance(c, bool) for c in correct):
            raise ReportError(f"{path}: prediction {record['id']} sample {record['sample']} has no per-blank "
                              "'correct' list of true/false")
        shares.setdefault(record["id"], []).append(sum(correct) / len(correct))
        exact.setdefault(record["id"], []).append(float(all(correct)))
    return RunScores(label, config["style"], config["modality"], {k: float(np.mean(v)) for k, v in shares.items()},
                     {k: float(np.mean(v)) for k, v in exact.items()})


@dataclass(frozen=True)
class Gap:
    mean: float
    low: float
    high: float
    p: float
    puzzles: int


def paired_gap(base: dict[str, float], other: dict[str, float]) -> Gap | None:
    """``other`` minus ``base`` on their shared puzzles, in percentage points, with a 95% interval and p-value."""
    shared = sorted(set(base) & set(other))
    if not shared:
        return None
    d = np.array([other[i] - base[i] for i in shared]) * 100
    rng = np.random.default_rng(SEED)
    means, null = [], []
    for block in range(0, RESAMPLES, 1000):
        size = min(1000, RESAMPLES - block)
        means.append(d[rng.integers(0, len(d), (size, len(d)))].mean(axis=1))
        null.append((rng.choice((-1.0, 1.0), (size, len(d))) * d).mean(axis=1))
    boot, flips = np.concatenate(means), np.concatenate(null)
    p = (np.sum(np.abs(flips) >= abs(d.mean()) - 1e-12) + 1) / (RESAMPLES + 1)
    return Gap(float(d.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)), float(p),
               len(d))


def _accuracy(scores: RunScores | None, metric: str) -> str:
    return "" if scores is None else f"{100 * np.mean(list(scores.per_puzzle(metric).values())):.1f}"


def _gap_cell(gap: Gap | None) -> str:
    if gap is None:
        return ""
    return f"{gap.mean:+.1f} [{gap.low:+.1f}, {gap.high:+.1f}] p={gap.p:.3f}"


def gap_report(run_dirs: Sequence[str | Path], out: str | Path | None = None, metric: str = "micro") -> str:
    """The report as markdown; with ``out``, also ``report.md`` and ``gaps.png`` written there."""
    if not run_dirs:
        raise ReportError("no runs to report on")
    labels = row_labels([(str(path), read_config(path)) for path in run_dirs])
    runs = [load_run(path, label) for path, label in zip(run_dirs, labels)]
    groups: dict[tuple[str, str], dict[str, RunScores]] = {}
    for run in runs:
        groups.setdefault((run.model, run.style), {})[run.modality] = run
    lines = [f"## Modality gap ({metric} accuracy, %)", "",
             "Gaps are in percentage points on shared puzzles: mean [95% bootstrap interval] and sign-flip p-value.",
             "", "| model | style | text | image | hybrid | image - text | hybrid - text |",
             "|---|---|---|---|---|---|---|"]
    chart: list[tuple[str, str, Gap | None]] = []
    for (model, style), by_modality in groups.items():
        text = by_modality.get("text")
        gaps = {m: paired_gap(text.per_puzzle(metric), by_modality[m].per_puzzle(metric))
                if text is not None and m in by_modality else None for m in ("image", "hybrid")}
        lines.append(f"| {model} | {style} | " + " | ".join(_accuracy(by_modality.get(m), metric) for m in MODALITIES)
                     + f" | {_gap_cell(gaps['image'])} | {_gap_cell(gaps['hybrid'])} |")
        chart += [(f"{style} {m}-text", model, gaps[m]) for m in ("image", "hybrid")]
    lines += _style_table(runs, metric)
    markdown = "\n".join(lines) + "\n"
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(f"# crossmath modality-gap report\n\n{markdown}\n![gaps](gaps.png)\n",
                                       encoding="utf-8")
        draw_gaps([(label, gap) for label, _, gap in chart if gap is not None], metric).save(out / "gaps.png")
    return markdown


def _style_table(runs: Sequence[RunScores], metric: str) -> list[str]:
    styles = sorted({run.style for run in runs})
    by_key: dict[tuple[str, str], dict[str, RunScores]] = {}
    for run in runs:
        by_key.setdefault((run.model, run.modality), {})[run.style] = run
    lines = ["", f"## Style robustness ({metric} accuracy, %)", "",
             "| model | modality | " + " | ".join(styles) + " | spread |", "|---|---|" + "---|" * (len(styles) + 1)]
    for (model, modality), by_style in sorted(by_key.items(), key=lambda kv: (kv[0][0], MODALITIES.index(kv[0][1]))):
        values = [100 * np.mean(list(by_style[s].per_puzzle(metric).values())) for s in styles if s in by_style]
        cells = [_accuracy(by_style.get(s), metric) for s in styles]
        lines.append(f"| {model} | {modality} | " + " | ".join(cells) + f" | {max(values) - min(values):.1f} |")
    return lines


def draw_gaps(bars: list[tuple[str, Gap]], metric: str) -> Image.Image:
    """A bar chart of gaps (percentage points) with their 95% intervals."""
    from crossmath.render.fonts import load_font

    font = load_font("DejaVuSans", 14)
    width, height, left, top, bottom = max(400, 90 * len(bars) + 120), 420, 70, 40, 110
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 10), f"Modality gap vs text ({metric} accuracy, percentage points)", fill="black", font=font)
    extent = max([10.0] + [max(abs(g.low), abs(g.high), abs(g.mean)) for _, g in bars])
    scale = (height - top - bottom) / (2 * extent)
    zero = top + (height - top - bottom) / 2
    draw.line([(left, zero), (width - 20, zero)], fill="black")
    for value in (-extent, extent):
        draw.text((8, zero - value * scale - 8), f"{value:+.0f}", fill="black", font=font)
    for i, (label, gap) in enumerate(bars):
        x = left + 30 + i * 90
        y = zero - gap.mean * scale
        draw.rectangle([x, min(y, zero), x + 40, max(y, zero)], fill="#4C78A8" if gap.mean >= 0 else "#E45756")
        draw.line([(x + 20, zero - gap.high * scale), (x + 20, zero - gap.low * scale)], fill="black", width=2)
        for edge in (gap.low, gap.high):
            draw.line([(x + 12, zero - edge * scale), (x + 28, zero - edge * scale)], fill="black", width=2)
        for row, part in enumerate(label.split(" ")):
            draw.text((x - 10, height - bottom + 12 + 18 * row), part, fill="black", font=font)
    return image
