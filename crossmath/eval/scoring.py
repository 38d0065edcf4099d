"""Re-scoring saved predictions without a model: run files, or logs in the published one-line-per-puzzle form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from crossmath.errors import CrossmathError
from crossmath.eval.answers import answer_tokens
from crossmath.eval.runner import score_run
from crossmath.eval.runs import read_predictions
from crossmath.eval.sources import load_items


def _is_run_file(path: Path) -> bool:
    with open(path, encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and {"id", "sample", "answer"} <= set(record)


def score_files(dataset: str, style: str, split: str, files: Sequence[str]) -> dict:
    """Metrics of prediction files against a dataset. A published-format log is one sample: line i answers
    puzzle i, and as in the published scorer, only as many puzzles as the log has lines are scored."""
    paths = [Path(name) for name in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CrossmathError(f"no such file: {', '.join(missing)}")
    items = load_items(dataset, style, split)
    kinds = {_is_run_file(path) for path in paths}
    if kinds == {True}:
        predictions = [record for path in paths for record in read_predictions(path)]
        samples = max(p["sample"] for p in predictions) + 1
        wanted = {p["id"] for p in predictions}
        return score_run([item for item in items if item.id in wanted], predictions, samples)
    if kinds == {False}:
        logs = [path.read_text(encoding="utf-8").splitlines() for path in paths]
        count = min(min(len(lines) for lines in logs), len(items))
        # each log line becomes a prediction (a line without tokens is a missing answer) and is scored as a run
        predictions = [{"id": item.id, "sample": sample, "answer": line if answer_tokens(line) else None}
                       for sample, lines in enumerate(logs) for item, line in zip(items[:count], lines)]
        return score_run(items[:count], predictions, len(logs))
    raise CrossmathError("give either run predictions.jsonl files or published-format logs, not both")
