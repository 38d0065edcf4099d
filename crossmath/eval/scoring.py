"""Scoring predictions against a dataset: the metrics of a run, and re-scoring saved files without a model (run
``predictions.jsonl`` files, or logs in the published one-line-per-puzzle form).

A prediction whose request failed is never scored as a wrong answer: a puzzle lacking a usable prediction for any
sample is left out of the figures and counted as failed, and the metrics say the run is incomplete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crossmath.errors import CrossmathError
from crossmath.eval.answers import answer_tokens
from crossmath.eval.metrics import Truth, score_sample, summarize
from crossmath.eval.prompts import TRANSCRIBE
from crossmath.eval.read_metrics import read_metrics
from crossmath.eval.rundir import CONFIG, answered, read_config, read_predictions
from crossmath.eval.sources import EvalItem, load_items, source_fingerprint


class ScoringError(CrossmathError):
    """Predictions that cannot be scored against the dataset given."""


def truth_of(item: EvalItem) -> Truth:
    return Truth(item.id, item.answer, item.steps, item.difficulty)


def score_run(items: Sequence[EvalItem], predictions: Sequence[dict[str, Any]], num_samples: int) -> dict:
    """Metrics of predictions against the items: puzzles with every sample answered are scored, the others are
    counted as failed (``failed_puzzles``, ``complete``), as are usage totals of the predictions that count."""
    by_key = {(p["id"], p["sample"]): p for p in answered(predictions)}
    complete = [item for item in items if all((item.id, s) in by_key for s in range(num_samples))]
    truths = [truth_of(item) for item in complete]
    samples, missing = [], 0
    for sample in range(num_samples if complete else 0):
        lines = []
        for item in complete:
            answer = by_key[(item.id, sample)]["answer"]
            missing += answer is None
            lines.append(answer_tokens(answer or ""))
        samples.append(score_sample(truths, lines))
    metrics = summarize(samples, puzzles=len(complete), missing=missing)
    failed = len(items) - len(complete)
    counted = list(by_key.values())
    usage = [p["usage"] for p in counted if isinstance(p.get("usage"), dict)]
    metrics.update({
        "failed_puzzles": failed, "complete": failed == 0,
        "prompt_tokens": sum(_count(u.get("prompt_tokens")) for u in usage),
        "completion_tokens": sum(_count(u.get("completion_tokens")) for u in usage),
        "truncated_share": (sum(bool(p.get("truncated")) for p in counted) / len(counted)) if counted else None,
    })
    return metrics


def _count(value: Any) -> int:
    """A token count of a prediction's usage; anything but a whole number (text, null, a list) counts 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _line_kind(line: str) -> str:
    """``record`` (a JSON object, or JSON too long or deep to read that starts like one), ``data`` (other JSON
    lists and objects) or ``reply`` (a line of a published-format log)."""
    if not line.startswith(("{", "[")):
        return "reply"
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return "reply"
    except (ValueError, RecursionError):  # a number beyond Python's digit limit, or nesting too deep
        return "record" if line.startswith("{") else "data"
    return "record" if isinstance(value, dict) else "data"


def _is_run_file(path: Path) -> bool:
    """Whether a file holds prediction records (JSON objects) rather than a published-format log (reply lines),
    judged by every line, not the first alone; content that is neither (binary data, JSON lists) is refused."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScoringError(f"{path}:{line}: not UTF-8 text, so neither prediction records nor a published-format "
                           "log") from None
    if "\0" in text:
        raise ScoringError(f"{path} holds binary data (NUL bytes), neither prediction records nor a log")
    kinds = {_line_kind(line.strip()) for line in text.splitlines() if line.strip()}
    if not kinds:
        raise ScoringError(f"{path} is empty")
    if kinds == {"data"}:
        raise ScoringError(f"{path} holds JSON lists, neither prediction records (JSON objects) nor the reply "
                           "lines of a published-format log")
    return "record" in kinds


def _check_fingerprint(path: Path, dataset: str, style: str, split: str) -> None:
    config_path = path.parent / CONFIG
    if not config_path.is_file():
        return
    recorded = read_config(path.parent).get("dataset_fingerprint")
    actual = source_fingerprint(dataset, style, split)
    if recorded and actual and recorded != actual:
        raise ScoringError(f"{path} answers another dataset (fingerprint {recorded}, {dataset} has {actual})")


def _transcription_format(paths: Sequence[Path]) -> str | None:
    """The text form transcriptions were asked in, when the files are transcribe runs (by the ``config.json``
    beside them), None when they are answers; both at once is refused."""
    configs = [read_config(path.parent) if (path.parent / CONFIG).is_file() else {} for path in paths]
    kinds = {config.get("modality") == TRANSCRIBE for config in configs}
    if len(kinds) > 1:
        raise ScoringError("give either transcribe runs or runs that answer, not both")
    return str(configs[0].get("text_format") or "markdown") if kinds == {True} else None


def score_files(dataset: str, style: str, split: str, files: Sequence[str]) -> dict:
    """Metrics of prediction files against a dataset. A published-format log is one sample: line i answers
    puzzle i, and as in the published scorer, only as many puzzles as the log has lines are scored."""
    paths = [Path(name) for name in files]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise ScoringError(f"no such file: {', '.join(absent)}")
    kinds = {_is_run_file(path) for path in paths}
    items = load_items(dataset, style, split)
    if kinds == {True}:
        for path in paths:
            _check_fingerprint(path, dataset, style, split)
        predictions = [record for path in paths for record in read_predictions(path)]
        known = {item.id for item in items}
        unknown = sorted({p["id"] for p in predictions} - known)
        if unknown:
            raise ScoringError(f"{len(unknown)} predicted puzzle(s) are not in {dataset} ({style}, {split}), "
                               f"e.g. {unknown[0]!r}: the predictions answer another dataset")
        wanted = {p["id"] for p in predictions}
        scored = [item for item in items if item.id in wanted]
        samples = max(p["sample"] for p in predictions) + 1
        transcriptions = _transcription_format(paths)
        metrics = score_run(scored, predictions, samples) if transcriptions is None else \
            read_metrics(scored, predictions, samples, transcriptions)
        metrics["unpredicted_puzzles"] = len(known - wanted)
        return metrics
    if kinds == {False}:
        logs = [path.read_text(encoding="utf-8").splitlines() for path in paths]
        count = min(min(len(lines) for lines in logs), len(items))
        # each log line becomes a prediction (a line without tokens is a missing answer) and is scored as a run
        predictions = [{"id": item.id, "sample": sample, "answer": line if answer_tokens(line) else None}
                       for sample, lines in enumerate(logs) for item, line in zip(items[:count], lines)]
        metrics = score_run(items[:count], predictions, len(logs))
        metrics["unpredicted_puzzles"] = len(items) - count
        return metrics
    raise ScoringError("give either run predictions.jsonl files or published-format logs, not both")
