"""A run folder: ``config.json``, ``predictions.jsonl`` (appended and flushed per batch), ``metrics.json``,
``report.md``. A run that stops loses at most the batch in flight; resuming continues it and refuses other settings.

A prediction line whose request failed (an API engine that gave up after its retries) says ``"failed": true``;
it is never scored, and a later line for the same puzzle and sample (from ``--resume``) replaces it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crossmath.errors import CrossmathError

CONFIG, PREDICTIONS, METRICS, REPORT = "config.json", "predictions.jsonl", "metrics.json", "report.md"
RUN_FILES = (CONFIG, PREDICTIONS, METRICS, REPORT)

RESULT_SETTINGS = (
    "model", "adapter", "merge_adapter", "dataset", "dataset_fingerprint", "style", "split", "modality", "text_format",
    "prompt_template",
    "num_samples", "temperature", "top_p", "max_new_tokens", "seed", "thinking", "dtype", "limit", "engine",
    "extra_body", "transcripts",
)
"""Settings that change what a run produces; resuming with any of them changed is refused."""

EARLIER_DEFAULTS = {"engine": "transformers"}
"""What a setting was before runs recorded it (runs of earlier versions resume as the same settings)."""

PREDICTION_KEYS = ("id", "sample", "answer")
"""Keys every prediction line has."""


class RunError(CrossmathError):
    """A run folder, or a predictions file, that cannot be used as asked."""


def parse_json(data: bytes, where: str, kind: str) -> Any:
    """JSON from a run file's bytes; anything Python cannot read as JSON (not UTF-8, invalid, a number beyond
    Python's digit limit, nesting too deep) is a RunError naming ``where``, never a traceback."""
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RunError(f"{where}: not UTF-8 text, so not {kind}") from None
    except json.JSONDecodeError:
        raise RunError(f"{where}: not {kind}") from None
    except ValueError:  # an integer of more digits than Python converts from text
        raise RunError(f"{where}: holds a number of more than {sys.get_int_max_str_digits()} digits") from None
    except RecursionError:
        raise RunError(f"{where}: JSON nested too deeply") from None


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    """The prediction records of a ``predictions.jsonl`` file, in file order; a line that is not a prediction
    record is an error naming the file and line."""
    records = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = parse_json(line, f"{path}:{number}", "a JSON line")
            if not isinstance(record, dict) or not all(key in record for key in PREDICTION_KEYS):
                raise RunError(f"{path}:{number}: not a prediction record (needs {', '.join(PREDICTION_KEYS)})")
            if not isinstance(record["id"], str) or not isinstance(record["sample"], int) or record["sample"] < 0 \
                    or not isinstance(record["answer"], (str, type(None))):
                raise RunError(f"{path}:{number}: id and answer must be text (answer may be null) and sample a "
                               "whole number from 0")
            records.append(record)
    return records


def latest_predictions(records: Iterable[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The prediction that counts for each (puzzle id, sample): the last line written for it."""
    return {(record["id"], record["sample"]): record for record in records}


def answered(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The predictions that count and did not fail: what scoring and reports read."""
    return [record for record in latest_predictions(records).values() if not record.get("failed")]


def is_run_folder(folder: str | Path) -> bool:
    """Whether a folder holds a run (its ``config.json`` or ``predictions.jsonl``)."""
    return any((Path(folder) / name).is_file() for name in (CONFIG, PREDICTIONS))


def read_config(folder: str | Path) -> dict[str, Any]:
    """A run folder's ``config.json``."""
    path = Path(folder) / CONFIG
    try:
        config = parse_json(path.read_bytes(), str(path), "valid JSON")
    except FileNotFoundError:
        raise RunError(f"{folder} is not a crossmath-eval run folder (no {CONFIG})") from None
    if not isinstance(config, dict):
        raise RunError(f"{path}: not a run config")
    return config


def _refuse_predictions_without_config(folder: Path) -> None:
    """Predictions whose ``config.json`` is gone cannot be continued or started over: nothing says which settings
    made them, and a new config would put another run's settings over them."""
    predictions = folder / PREDICTIONS
    if predictions.is_file() and predictions.stat().st_size and not (folder / CONFIG).is_file():
        raise RunError(f"{folder} holds {PREDICTIONS} but no {CONFIG}, so the settings that made those predictions "
                       f"are unknown; restore its {CONFIG}, or move the folder away or use another --output")


class RunFolder:
    """One model x dataset x style x modality run."""

    def __init__(self, path: str | Path, config: dict[str, Any], *, resume: bool) -> None:
        self.path = Path(path)
        self.config = config
        existing = self.path / CONFIG
        _refuse_predictions_without_config(self.path)
        if existing.is_file() and (self.path / PREDICTIONS).is_file():  # a config alone holds no results
            if not resume:
                raise RunError(f"{self.path} already holds a run; use --resume to continue it or another --output")
            old = read_config(self.path)
            changed = [key for key in RESULT_SETTINGS
                       if old.get(key, EARLIER_DEFAULTS.get(key)) != config.get(key)]
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
        """(puzzle id, sample index) pairs already predicted without failing."""
        return {(p["id"], p["sample"]) for p in answered(self.predictions())}

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
