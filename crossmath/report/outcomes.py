"""What reports read from run folders: per puzzle, which blanks each sample got right, and the dataset's puzzles
(step levels, difficulty, grid) where the run's dataset can still be read.

With several samples per puzzle, accuracies average over samples; where a yes/no outcome is needed (is the puzzle
solved, is this blank right), it is the majority of samples (a tie counts as not solved).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from crossmath.errors import CrossmathError
from crossmath.eval.metrics import step_category
from crossmath.eval.prompts import MODALITIES
from crossmath.eval.rundir import CONFIG, PREDICTIONS, answered, read_config, read_predictions
from crossmath.eval.sources import EvalItem, load_items
from crossmath.report.grouping import row_labels


class ReportError(CrossmathError):
    """Run folders that cannot be reported on."""


@dataclass(frozen=True)
class PuzzleOutcome:
    """One puzzle in one run: per sample, its answer, the correctness of each blank, the model's reply, and its
    line in ``predictions.jsonl``."""

    id: str
    answers: tuple[str | None, ...]
    correct: tuple[tuple[bool, ...], ...]
    outputs: tuple[str, ...]
    lines: tuple[int, ...]

    @property
    def micro(self) -> float:
        """Share of blanks right, averaged over samples."""
        return sum(sum(c) / len(c) for c in self.correct) / len(self.correct)

    @property
    def macro(self) -> float:
        """Share of samples with the whole answer right."""
        return sum(all(c) for c in self.correct) / len(self.correct)

    @property
    def solved(self) -> bool:
        return 2 * sum(all(c) for c in self.correct) > len(self.correct)

    @property
    def blanks_right(self) -> tuple[bool, ...]:
        """Per blank, whether most samples got it right."""
        return tuple(2 * sum(column) > len(self.correct) for column in zip(*self.correct))

    def score(self, metric: str) -> float:
        return self.micro if metric == "micro" else self.macro


@dataclass(frozen=True)
class Run:
    """One run folder: what was run (model, style, modality, factor levels) and each puzzle's outcome."""

    path: Path
    config: dict[str, Any]
    puzzles: dict[str, PuzzleOutcome]
    items: dict[str, EvalItem] | None = field(default=None, compare=False)
    """The dataset's puzzles by id, or None when the run's dataset cannot be read here."""
    label: str | None = None
    """The report row this run belongs to (see :func:`crossmath.report.grouping.row_labels`)."""

    @property
    def model(self) -> str:
        """The row label: the model (and adapter), plus any setting in which it differs from other runs of it."""
        if self.label is not None:
            return self.label
        adapter = self.config.get("adapter")
        return str(self.config["model"]) + (f" + {adapter}" if adapter else "")

    @property
    def style(self) -> str:
        return str(self.config["style"])

    @property
    def modality(self) -> str:
        return str(self.config["modality"])

    @property
    def factors(self) -> dict[str, str]:
        """The controlled factors' levels this run's dataset config holds (``config.json``'s ``factors``)."""
        return {str(k): _level_text(v) for k, v in (self.config.get("factors") or {}).items()}

    def scores(self, metric: str) -> dict[str, float]:
        return {pid: outcome.score(metric) for pid, outcome in self.puzzles.items()}

    def steps(self, pid: str) -> tuple[str, ...] | None:
        """Step category (``step1`` ... ``step4+``) of each blank of a puzzle, when the dataset is readable."""
        item = None if self.items is None else self.items.get(pid)
        return None if item is None else tuple(step_category(s) for s in item.steps)


def _level_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict, bool)) or value is None else str(value)


@lru_cache(maxsize=16)
def _dataset(source: str, style: str, split: str) -> dict[str, EvalItem] | None:
    try:
        return {item.id: item for item in load_items(source, style, split)}
    except (CrossmathError, OSError):
        return None


def load_run(path: str | Path, *, with_dataset: bool = True) -> Run:
    """Read a run folder; with ``with_dataset``, also its dataset's puzzles when they can be read."""
    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / PREDICTIONS).is_file():
        raise ReportError(f"{path} is not a readable crossmath-eval run folder (config.json and predictions.jsonl)")
    try:
        config = read_config(path)
        records = read_predictions(path / PREDICTIONS)
    except OSError as exc:
        raise ReportError(f"{path} is not a readable crossmath-eval run folder: {exc}") from None
    if not isinstance(config.get("style"), str) or config.get("modality") not in MODALITIES:
        raise ReportError(f"{path / CONFIG}: needs a style (text) and a modality ({', '.join(MODALITIES)})")
    missing = [key for key in ("model", "style", "modality") if key not in config]
    if missing:
        raise ReportError(f"{path / CONFIG} lacks {', '.join(missing)}")
    puzzles = _outcomes(path, records)
    if not puzzles:
        raise ReportError(f"{path / PREDICTIONS} holds no answered predictions to report on")
    items = None
    if with_dataset and isinstance(config.get("dataset"), str):
        items = _dataset(config["dataset"], str(config["style"]), str(config.get("split", "test")))
    return Run(path, config, puzzles, items)


def _outcomes(path: Path, records: Sequence[dict[str, Any]]) -> dict[str, PuzzleOutcome]:
    grouped: dict[str, list[tuple[int, int, str | None, tuple[bool, ...], str]]] = {}
    counted = {id(record) for record in answered(records)}  # the latest try of each sample, if it did not fail
    for line, record in enumerate(records, start=1):  # run files have no blank lines: record i is line i
        if id(record) not in counted:
            continue
        try:
            pid, sample, correct = str(record["id"]), int(record.get("sample", 0)), record["correct"]
            answer = record.get("answer")
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportError(f"{path / PREDICTIONS}:{line}: not a prediction record ({exc})") from None
        if not isinstance(correct, list) or not correct:
            raise ReportError(f"{path / PREDICTIONS}:{line}: 'correct' must be a non-empty list of booleans")
        grouped.setdefault(pid, []).append((sample, line, answer, tuple(bool(c) for c in correct),
                                            str(record.get("output", ""))))
    outcomes = {}
    for pid, rows in grouped.items():
        rows.sort()
        outcomes[pid] = PuzzleOutcome(pid, tuple(r[2] for r in rows), tuple(r[3] for r in rows),
                                      tuple(r[4] for r in rows), tuple(r[1] for r in rows))
    return outcomes


def load_runs(paths: Sequence[str | Path], *, with_dataset: bool = True) -> list[Run]:
    """Read run folders, each labelled with its report row: runs that differ in anything but style, modality and
    samples (prompt, text format, adapter, decoding, engine, ...) get rows of their own, and two runs of the same
    row, style, modality and factor levels are refused (a report would silently keep one of them)."""
    if not paths:
        raise ReportError("no runs to report on")
    runs = [load_run(path, with_dataset=with_dataset) for path in paths]
    try:
        labels = row_labels([(str(run.path), run.config) for run in runs])
    except CrossmathError as exc:
        raise ReportError(str(exc)) from None
    runs = [replace(run, label=label) for run, label in zip(runs, labels)]
    seen: dict[tuple[str, str, str, str], Path] = {}
    for run in runs:
        key = (run.model, run.style, run.modality, json.dumps(run.factors, sort_keys=True))
        if key in seen:
            raise ReportError(f"{seen[key]} and {run.path} are both {run.model}, {run.style}, {run.modality}: "
                              "report on one of them")
        seen[key] = run.path
    return runs
