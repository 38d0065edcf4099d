"""The read metrics of a transcription run (``metrics.json``'s ``"read"``): how exactly a model reads the grid,
by kind of cell, with 95% bootstrap intervals over puzzles, by difficulty and grid size, and its commonest
misreadings.

Each figure is a share per puzzle (over the cells of that kind in its true grid; over samples, the mean), then the
mean over puzzles in percent: a puzzle without a cell of some kind does not count for that kind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from crossmath.eval.rundir import answered
from crossmath.eval.sources import EvalItem
from crossmath.eval.transcripts import Reading, score_reading, true_grid
from crossmath.report.stats import accuracies

FIGURES = ("cells", "numbers", "operators", "equals", "blanks", "extra", "grid_exact", "shape")
"""What ``"read"`` holds, each in percent with its interval (``extra``: share of empty cells filled)."""
CONFUSIONS = 20
"""Misreadings listed, commonest first."""


def puzzle_shares(reading: Reading) -> dict[str, float | None]:
    """One reading's figures as fractions (None for a kind of cell its true grid lacks)."""
    shares: dict[str, float | None] = {kind: (r / t if t else None) for kind, (r, t) in reading.counts.items()}
    shares.update(cells=reading.cell_accuracy,
                  extra=len(reading.extra) / reading.empty if reading.empty else None,
                  grid_exact=float(reading.exact), shape=float(reading.shape_ok))
    return shares


def _estimates(per_puzzle: Sequence[dict[str, float | None]]) -> dict[str, dict[str, float] | None]:
    """Each figure's mean over the puzzles that have it, with its interval. Puzzles are resampled as a whole
    (a puzzle without the figure weighs 0), so every figure of a set of puzzles draws the same resamples."""
    shape = (len(per_puzzle), len(FIGURES))
    values = np.array([[p[name] or 0.0 for name in FIGURES] for p in per_puzzle], dtype=float).reshape(shape)
    present = np.array([[p[name] is not None for name in FIGURES] for p in per_puzzle], dtype=float).reshape(shape)
    out: dict[str, dict[str, float] | None] = {}
    for k, (name, estimate) in enumerate(zip(FIGURES, accuracies(values, present))):
        out[name] = None if estimate is None else {"mean": round(estimate.mean, 6), "low": round(estimate.low, 6),
                                                   "high": round(estimate.high, 6), "n": int(present[:, k].sum())}
    return out


def _mean_over_samples(readings: Sequence[Reading]) -> dict[str, float | None]:
    samples = [puzzle_shares(reading) for reading in readings]
    mean: dict[str, float | None] = {}
    for name in FIGURES:
        values = [v for s in samples if (v := s[name]) is not None]
        mean[name] = sum(values) / len(values) if values else None
    return mean


def confusions(readings: Sequence[Reading]) -> list[dict[str, Any]]:
    """The commonest misreadings: an operator, ``=`` or ``?`` as the cell read, a number by the digits that
    differ where it was read with as many digits (``8`` read as ``3``), else as the whole number."""
    counts: Counter[tuple[str, str]] = Counter()
    for reading in readings:
        for _, _, true, read in reading.misread:
            if _digitwise(true, read):
                counts.update((a, b) for a, b in zip(true, read) if a != b)
            else:
                counts[(true, read)] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:CONFUSIONS]
    return [{"true": true, "read": read, "count": count} for (true, read), count in ranked]


def _digitwise(true: str, read: str) -> bool:
    """Whether a misread number can be compared digit by digit."""
    return true.isdigit() and read.isdigit() and len(true) == len(read)


def read_metrics(items: Sequence[EvalItem], predictions: Sequence[dict[str, Any]], num_samples: int,
                 text_format: str) -> dict[str, Any]:
    """``metrics.json`` of a transcription run: puzzles with every sample answered are scored, the others counted
    as failed."""
    by_key = {(p["id"], p["sample"]): p for p in answered(predictions)}
    complete = [item for item in items if all((item.id, s) in by_key for s in range(num_samples))]
    readings: dict[str, list[Reading]] = {}
    sizes: dict[str, str] = {}
    for item in complete:
        truth = true_grid(item.texts["markdown"])
        sizes[item.id] = f"{len(truth)}x{len(truth[0])}"
        readings[item.id] = [score_reading(truth, str(by_key[(item.id, s)].get("output", "")), text_format)
                             for s in range(num_samples)]
    per_puzzle = {item.id: _mean_over_samples(readings[item.id]) for item in complete}

    def grouped(key: Callable[[EvalItem], str]) -> dict[str, Any]:
        groups: dict[str, list[dict[str, float | None]]] = {}
        for item in complete:
            groups.setdefault(key(item), []).append(per_puzzle[item.id])
        return {name: {"puzzles": len(rows), **_estimates(rows)} for name, rows in sorted(groups.items())}

    everything = [reading for rows in readings.values() for reading in rows]
    failed = len(items) - len(complete)
    counted = list(by_key.values())
    return {
        "puzzles": len(complete), "samples": num_samples, "failed_puzzles": failed, "complete": failed == 0,
        "unparsed": sum(not reading.parsed for reading in everything),
        "read": {**_estimates(list(per_puzzle.values())),
                 "by_difficulty": grouped(lambda item: item.difficulty or "unknown"),
                 "by_size": grouped(lambda item: sizes[item.id]), "confusions": confusions(everything)},
        "prompt_tokens": sum(int((p.get("usage") or {}).get("prompt_tokens") or 0) for p in counted),
        "completion_tokens": sum(int((p.get("usage") or {}).get("completion_tokens") or 0) for p in counted),
        "truncated_share": (sum(bool(p.get("truncated")) for p in counted) / len(counted)) if counted else None,
    }


def _figure(value: dict[str, float] | None) -> str:
    return "n/a" if value is None else f"{value['mean']:.1f} [{value['low']:.1f}, {value['high']:.1f}]"


def read_report(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """``report.md`` of a transcription run."""
    read = metrics["read"]
    lines = [
        f"# {config['model']}{' + ' + config['adapter'] if config.get('adapter') else ''}: "
        f"{config['style']}, transcribe",
        "",
        f"Dataset `{config['dataset']}` ({config['split']}), {metrics['puzzles']} puzzles, {metrics['samples']} "
        f"sample(s) each; transcriptions asked as {config['text_format']}; replies holding no table (every "
        f"cell misread): {metrics['unparsed']}.",
        "",
        "| read (% of puzzles' cells, 95% interval) | figure |",
        "|---|---|",
        *[f"| {name} | {_figure(read[name])} |" for name in FIGURES],
        "",
        "| difficulty | puzzles | cells | numbers | grid exact |",
        "|---|---|---|---|---|",
        *[f"| {d} | {v['puzzles']} | {_figure(v['cells'])} | {_figure(v['numbers'])} | {_figure(v['grid_exact'])} |"
          for d, v in read["by_difficulty"].items()],
        "",
        "| true | read as | times |",
        "|---|---|---|",
        *[f"| {json.dumps(c['true'], ensure_ascii=False)} | {json.dumps(c['read'], ensure_ascii=False)} | "
          f"{c['count']} |" for c in read["confusions"]],
        "",
    ]
    return "\n".join(lines)
