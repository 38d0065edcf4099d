"""A run folder: ``config.json``, ``predictions.jsonl`` (appended and flushed per batch), ``metrics.json``,
``report.md``. A run that stops loses at most the batch in flight; resuming continues it and refuses other settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from crossmath.errors import CrossmathError

CONFIG, PREDICTIONS, METRICS, REPORT = "config.json", "predictions.jsonl", "metrics.json", "report.md"

RESULT_SETTINGS = (
    "model", "adapter", "merge_adapter", "dataset", "dataset_fingerprint", "style", "split", "modality", "text_format",
    "prompt_template",
    "num_samples", "temperature", "top_p", "max_new_tokens", "seed", "thinking", "dtype", "limit",
)
"""Settings that change what a run produces; resuming with any of them changed is refused."""


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    """The prediction records of a ``predictions.jsonl`` file, in file order."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


class RunError(CrossmathError):
    """A run folder that cannot be started or resumed as asked."""


class RunFolder:
    """One model x dataset x style x modality run."""

    def __init__(self, path: str | Path, config: dict[str, Any], *, resume: bool) -> None:
        self.path = Path(path)
        self.config = config
        existing = self.path / CONFIG
        if existing.is_file() and (self.path / PREDICTIONS).is_file():  # a config alone holds no results
            if not resume:
                raise RunError(f"{self.path} already holds a run; use --resume to continue it or another --output")
            old = json.loads(existing.read_text(encoding="utf-8"))
            changed = [key for key in RESULT_SETTINGS if old.get(key) != config.get(key)]
            if changed:
                raise RunError(f"cannot resume {self.path} with different settings: {', '.join(changed)}")
        self._started = False
        self._drop_torn_line()

    def _start(self) -> None:
        """Write ``config.json`` when the first results are: a run that fails before (a model that does not
        load, a batch that does not fit) leaves no config behind to block the rerun."""
        if not self._started:
            self.path.mkdir(parents=True, exist_ok=True)
            config = json.dumps(self.config, indent=2, ensure_ascii=False) + "\n"
            (self.path / CONFIG).write_text(config, encoding="utf-8")
            self._started = True

    def _drop_torn_line(self) -> None:
        """A line cut off by an interruption is removed, so appending continues on a clean line."""
        path = self.path / PREDICTIONS
        if not path.is_file():
            return
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            with open(path, "r+b") as handle:
                handle.truncate(keep)

    def predictions(self) -> list[dict[str, Any]]:
        path = self.path / PREDICTIONS
        return read_predictions(path) if path.is_file() else []

    def done(self) -> set[tuple[str, int]]:
        """(puzzle id, sample index) pairs already predicted."""
        return {(p["id"], p["sample"]) for p in self.predictions()}

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append predictions and make them durable before returning."""
        self._start()
        with open(self.path / PREDICTIONS, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def write(self, name: str, text: str) -> None:
        self._start()
        (self.path / name).write_text(text, encoding="utf-8")
