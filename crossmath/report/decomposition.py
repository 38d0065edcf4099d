"""Why the gap: the modality gap of a model split into perception and integration, from its text, two-stage and
image runs (and, where given, its transcribe run).

``text`` is the accuracy on a perfect reading, ``two_stage`` on its own reading with the reasoning in text,
``image`` end to end; ``perception_loss = text - two_stage`` and ``integration_loss = two_stage - image``, each
paired puzzle by puzzle (bootstrap interval, sign-flip p). A wrong image answer is *explained by misreading* when
the model's own transcription misread a cell of an equation through one of its wrong blanks. Beside it, per
modality, the token cost of the prompt and the reasoning effort: mean generated tokens and the share of replies
that show work (an equation written out) before the answer, with the image/text ratios.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmath.eval.answers import ANSWER_TAG
from crossmath.eval.prompts import TRANSCRIBE, TWO_STAGE
from crossmath.eval.rundir import PREDICTIONS, answered, read_config, read_predictions
from crossmath.eval.transcripts import explained, misread_cells, true_grid
from crossmath.puzzles.model import Cell
from crossmath.report.outcomes import ReportError, Run, load_run
from crossmath.report.stats import Difference, Estimate, accuracy, paired_difference
from crossmath.report.summary import METRICS

WORK = re.compile(r"\d+\s*[-+×÷*/x:−]\s*\d+\s*=\s*\d+")
"""An equation written out with its result: a reply that has one before its answer shows its work."""
PARTS = ("text", "two_stage", "image")


@dataclass(frozen=True)
class Effort:
    """What one modality's replies cost and how much they reason, over the replies that count."""

    replies: int
    prompt_tokens: float | None
    generated_tokens: float | None
    shows_work: float | None
    """Share of replies (in percent) with an equation written out before the answer."""


@dataclass(frozen=True)
class Decomposition:
    model: str
    style: str
    text: dict[str, Estimate]
    two_stage: dict[str, Estimate]
    image: dict[str, Estimate]
    perception_loss: dict[str, Difference | None]
    integration_loss: dict[str, Difference | None]
    explained_by_misreading: dict[str, float | int | None]
    """Wrong image answers (``wrong``), those explained by misreading (``explained``) and their ``share`` in
    percent; None where no transcription of the model's own is given."""
    effort: dict[str, Effort]
    """Per part (``text``, ``two_stage``, ``image``)."""
    ratio: dict[str, float | None]
    """Image over text: ``prompt_tokens``, ``generated_tokens``, ``shows_work``."""
    transcripts: str | None
    """The transcribe run the two-stage run read (its ``config.json``'s record)."""
    transcribe: Path | None
    """The model's own transcribe run, where given."""

    def parts(self) -> dict[str, Any]:
        """The six figures ``summary.json``'s ``"decomposition"`` holds per model and style."""
        return {"text": self.text, "two_stage": self.two_stage, "image": self.image,
                "perception_loss": self.perception_loss, "integration_loss": self.integration_loss,
                "explained_by_misreading": self.explained_by_misreading}


def reading_modality(path: str | Path) -> str | None:
    """``transcribe`` or ``two-stage`` for a run folder of a reading run, else None (read from its config)."""
    try:
        modality = read_config(path).get("modality")
    except (ReportError, OSError, ValueError):
        return None
    return modality if modality in (TRANSCRIBE, TWO_STAGE) else None


def _key(config: dict[str, Any]) -> tuple[str, str, str, str]:
    return (str(config.get("model")), str(config.get("adapter")), str(config.get("style")),
            json.dumps(config.get("factors") or {}, sort_keys=True))


def _effort(path: Path) -> Effort:
    records = answered(read_predictions(path / PREDICTIONS))

    def mean(key: str) -> float | None:
        values = [float(r[key]) for r in records if isinstance(r.get(key), (int, float))]
        return sum(values) / len(values) if values else None

    def work(output: str) -> bool:
        tagged = ANSWER_TAG.search(output)
        return WORK.search(output[:tagged.start()] if tagged else output) is not None

    shows = [work(str(r.get("output") or "")) for r in records]
    return Effort(len(records), mean("prompt_tokens"), mean("generated_tokens"),
                  100 * sum(shows) / len(shows) if shows else None)


def _ratio(image: float | None, text: float | None) -> float | None:
    return None if image is None or not text else image / text


def _explained(image: Run, transcribe: Path | None) -> dict[str, float | int | None]:
    wrong = [(pid, s, c) for pid, o in image.puzzles.items() for s, c in enumerate(o.correct) if not all(c)]
    if transcribe is None or image.items is None:
        return {"wrong": len(wrong), "explained": None, "share": None}
    readings: dict[str, dict[int, dict[str, Any]]] = {}
    for record in answered(read_predictions(transcribe / PREDICTIONS)):
        readings.setdefault(record["id"], {})[record["sample"]] = record.get("read") or {}
    count = 0
    for pid, sample, correct in wrong:
        by_sample = readings.get(pid)
        if not by_sample or pid not in image.items:
            raise ReportError(f"{transcribe} has no transcription of puzzle {pid}, which {image.path} answers")
        read = by_sample.get(sample, by_sample[min(by_sample)])
        count += bool(explained(true_grid(image.items[pid].texts["markdown"]), correct, misread_cells(read)))
    return {"wrong": len(wrong), "explained": count, "share": 100 * count / len(wrong) if wrong else None}


def _estimates(run: Run) -> dict[str, Estimate]:
    out = {metric: accuracy([o.score(metric) for o in run.puzzles.values()]) for metric in METRICS}
    return {k: v for k, v in out.items() if v is not None}


def decompose(answer_runs: Sequence[Run], reading_paths: Sequence[str | Path]) -> list[Decomposition]:
    """One decomposition per two-stage run among ``reading_paths``, with the text and image runs of the same model
    and style among ``answer_runs``; a two-stage run without them, or a transcribe run without a two-stage run, is
    refused in one line."""
    two_stage = [load_run(path) for path in reading_paths if reading_modality(path) == TWO_STAGE]
    transcribe = {_key(read_config(path)): Path(path) for path in reading_paths
                  if reading_modality(path) == TRANSCRIBE}
    wanted = {_key(run.config) for run in two_stage}
    for key, path in transcribe.items():
        if key not in wanted:
            raise ReportError(f"{path} is a transcribe run with no two-stage run of the same model and style "
                              "beside it: the decomposition needs text, image and two-stage runs")
    by_key: dict[tuple[tuple[str, str, str, str], str], Run] = {}
    for run in answer_runs:
        if (_key(run.config), run.modality) in by_key and _key(run.config) in wanted:
            other = by_key[(_key(run.config), run.modality)]
            raise ReportError(f"{other.path} and {run.path} are both {run.modality} runs of {run.config['model']}, "
                              f"{run.style}: the decomposition needs one; report on one of them")
        by_key[(_key(run.config), run.modality)] = run
    out, seen = [], set()
    for run in two_stage:
        key = _key(run.config)
        if key in seen:
            raise ReportError(f"two two-stage runs of {run.config['model']}, {run.style} given; report on one")
        seen.add(key)
        missing = [m for m in ("text", "image") if (key, m) not in by_key]
        if missing:
            raise ReportError(f"the decomposition of {run.config['model']}, {run.style} needs a text and an image "
                              f"run beside its two-stage run {run.path}; missing: {' and '.join(missing)}")
        text, image = by_key[(key, "text")], by_key[(key, "image")]
        own = transcribe.get(key)
        source = run.config.get("transcripts") or {}
        if own is None and source.get("model") == run.config.get("model") and source.get("run") \
                and (Path(source["run"]) / PREDICTIONS).is_file():
            own = Path(source["run"])
        effort = {"text": _effort(text.path), "two_stage": _effort(run.path), "image": _effort(image.path)}
        out.append(Decomposition(
            text.model, run.style, _estimates(text), _estimates(run), _estimates(image),
            {m: paired_difference(run.scores(m), text.scores(m)) for m in METRICS},
            {m: paired_difference(image.scores(m), run.scores(m)) for m in METRICS},
            _explained(image, own), effort,
            {name: _ratio(getattr(effort["image"], name), getattr(effort["text"], name))
             for name in ("prompt_tokens", "generated_tokens", "shows_work")},
            source.get("run"), own))
    return out


def misread_by_puzzle(rows: Sequence[Decomposition]) -> dict[tuple[str, str, str], set[Cell]]:
    """(model, style, puzzle id) -> the cells the model's own transcription misread (its first sample), for the
    error gallery."""
    out: dict[tuple[str, str, str], set[Cell]] = {}
    for row in rows:
        if row.transcribe is None:
            continue
        for record in answered(read_predictions(row.transcribe / PREDICTIONS)):
            if record["sample"] == 0:
                out[(row.model, row.style, record["id"])] = misread_cells(record.get("read") or {})
    return out


def nested(rows: Sequence[Decomposition], value: Callable[[Decomposition], Any]) -> dict[str, dict[str, Any]]:
    """``{model: {style: value(row)}}``, the shape ``summary.json`` keeps decompositions in."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        out.setdefault(row.model, {})[row.style] = value(row)
    return out
