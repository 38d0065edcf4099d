"""Evaluating one model on one style and modality: batches of prompts, predictions, metrics and a report."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Sequence

from tqdm import tqdm

from crossmath.errors import CrossmathError
from crossmath.eval.answers import answer_tokens, extract_answer
from crossmath.eval.backends.base import Backend, Sampling
from crossmath.eval.metrics import Truth, blank_correctness, score_sample, summarize
from crossmath.eval.prompts import build_prompt
from crossmath.eval.runs import METRICS, REPORT, RunFolder
from crossmath.eval.sources import EvalItem


def batch_seed(seed: int, first_id: str) -> int:
    """The sampling seed of a batch, fixed by the run seed and the batch's first puzzle (so a resumed run draws
    what the uninterrupted one would have, at the same batch size)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{first_id}".encode()).digest()[:4], "big")


def truth_of(item: EvalItem) -> Truth:
    return Truth(item.id, item.answer, item.steps, item.difficulty)


def evaluate(backend: Backend, items: Sequence[EvalItem], run: RunFolder, *, modality: str, text_format: str,
             template: str, sampling: Sampling, batch_size: int, seed: int, progress: bool = True) -> dict:
    """Predict every item not yet predicted in ``run``, then score the whole run."""
    done = run.done()
    pending = [item for item in items if any((item.id, s) not in done for s in range(sampling.num_samples))]
    label = f"{run.config['style']}/{modality}"
    with tqdm(total=len(items), initial=len(items) - len(pending), desc=label, unit="puzzle",
              disable=not progress or None, dynamic_ncols=True) as bar:
        for start in range(0, len(pending), batch_size):
            batch = pending[start:start + batch_size]
            prompts = [build_prompt(item, modality, text_format, template) for item in batch]
            began = time.perf_counter()
            results = backend.generate(prompts, sampling, batch_seed(seed, batch[0].id))
            seconds = (time.perf_counter() - began) / len(batch)
            records = []
            for item, (prompt_tokens, generations) in zip(batch, results):
                for sample, generation in enumerate(generations):
                    answer = extract_answer(generation.text)
                    records.append({
                        "id": item.id, "sample": sample, "prompt_tokens": prompt_tokens, "output": generation.text,
                        "answer": answer,
                        "correct": blank_correctness(truth_of(item), answer_tokens(answer or "")),
                        "generated_tokens": generation.tokens, "seconds": round(seconds, 4),
                    })
            run.append(records)
            bar.update(len(batch))
    metrics = score_run(items, run.predictions(), sampling.num_samples)
    run.write(METRICS, json.dumps(metrics, indent=2) + "\n")
    run.write(REPORT, run_report(run.config, metrics))
    return metrics


def score_run(items: Sequence[EvalItem], predictions: Sequence[dict[str, Any]], num_samples: int) -> dict:
    """Metrics of a run's predictions against the items (every item and sample must be predicted)."""
    by_key = {(p["id"], p["sample"]): p for p in predictions}
    truths = [truth_of(item) for item in items]
    samples, missing = [], 0
    for sample in range(num_samples):
        lines = []
        for item in items:
            prediction = by_key.get((item.id, sample))
            if prediction is None:
                raise CrossmathError(f"no prediction for {item.id} sample {sample}")
            missing += prediction["answer"] is None
            lines.append(answer_tokens(prediction["answer"] or ""))
        samples.append(score_sample(truths, lines))
    return summarize(samples, puzzles=len(items), missing=missing)


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
