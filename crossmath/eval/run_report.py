"""The results of one run: ``metrics.json``, and ``report.md`` with its figures as markdown tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from crossmath.eval.prompts import TRANSCRIBE
from crossmath.eval.read_metrics import read_metrics, read_report
from crossmath.eval.rundir import METRICS, REPORT, RunFolder
from crossmath.eval.scoring import score_run
from crossmath.eval.sources import EvalItem


def _figure(value: dict[str, float | None]) -> str:
    return "n/a" if value["mean"] is None else f"{value['mean']:.2f} ± {value['std']:.2f}"


def run_report(config: dict[str, Any], metrics: dict) -> str:
    """``report.md`` of one run."""
    lines = [
        f"# {config['model']}{' + ' + config['adapter'] if config.get('adapter') else ''}: "
        f"{config['style']}, {config['modality']}",
        "",
        f"Dataset `{config['dataset']}` ({config['split']}), {metrics['puzzles']} puzzles, {metrics['samples']} "
        f"sample(s) each; text format {config['text_format']}; "
        f"{'greedy' if config['temperature'] == 0 else 'temperature ' + str(config['temperature'])}.",
        "",
    ]
    if not metrics.get("complete", True):
        lines += [f"**Incomplete run:** {metrics['failed_puzzles']} puzzle(s) failed (their requests gave up "
                  "after retries) and are not scored; continue with `--resume`.", ""]
    lines += [
        "| metric | mean ± std (%) |",
        "|---|---|",
        f"| micro accuracy | {_figure(metrics['micro'])} |",
        f"| macro accuracy | {_figure(metrics['macro'])} |",
        *[f"| {step} accuracy ({metrics['blanks_by_step'][step]} blanks) | {_figure(value)} |"
          for step, value in metrics["steps"].items()],
        "",
        "| difficulty | puzzles | micro | macro |",
        "|---|---|---|---|",
        *[f"| {d} | {v['puzzles']} | {_figure(v['micro'])} | {_figure(v['macro'])} |"
          for d, v in metrics["difficulty"].items()],
        "",
        f"Missing or unparseable answers: {metrics['missing_answers']} of {metrics['puzzles'] * metrics['samples']} "
        "replies; each counts as wrong on every blank.",
        "",
    ]
    return "\n".join(lines)


def write_results(run: RunFolder, items: Sequence[EvalItem], num_samples: int) -> dict:
    """Score a run's predictions and write its ``metrics.json`` and ``report.md``; returns the metrics (a
    transcription run's are its read metrics)."""
    if run.config["modality"] == TRANSCRIBE:
        metrics = read_metrics(items, run.predictions(), num_samples, run.config["text_format"])
        report = read_report(run.config, metrics)
    else:
        metrics = score_run(items, run.predictions(), num_samples)
        report = run_report(run.config, metrics)
    run.write(METRICS, json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    run.write(REPORT, report)
    return metrics
