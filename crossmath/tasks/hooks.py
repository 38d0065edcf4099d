"""The functions the crossmath lmms-eval tasks name: crossmath-eval's prompts, answer extraction and metrics.

lmms-eval makes a request from a dataset row with ``doc_to_visual`` and ``doc_to_text``, passes each reply to
``process_results``, and hands the collected results to the aggregations. The prompt is crossmath-eval's default
for the modality; the answer is read as ``crossmath-eval`` reads it; the figures (micro and macro accuracy, accuracy
by step level pooled over blanks, in percent) are those of :func:`crossmath.eval.metrics.score_sample`. The reply is
read by :func:`crossmath.eval.answers.extract_answer` and nothing else, so lmms-eval and ``crossmath-eval`` agree.
The transcription tasks score the reading as ``crossmath-eval run --modality transcribe`` does (the read figures of
:mod:`crossmath.eval.read_metrics`, means over puzzles in percent, without intervals).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from PIL import Image

from crossmath.eval.answers import answer_tokens, extract_answer
from crossmath.eval.metrics import Truth, score_sample
from crossmath.eval.prompts import DEFAULT_TEMPLATES, prompt_text
from crossmath.eval.read_metrics import FIGURES, puzzle_shares
from crossmath.eval.transcripts import score_reading, true_grid
from crossmath.schema import TEXT_COLUMNS

METRICS = ("micro", "macro", "step1", "step2", "step3", "step4plus")


def doc_to_visual(doc: dict[str, Any]) -> list[Image.Image]:
    """The puzzle image, as RGB (the dataset stores palette PNGs)."""
    return [doc["image"].convert("RGB")]


def no_visual(doc: dict[str, Any]) -> list[Image.Image]:
    """No image: the text modality."""
    return []


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> str:
    """crossmath-eval's prompt for the task's modality (``image``, ``text`` or ``hybrid``) and text format."""
    options = lmms_eval_specific_kwargs or {}
    modality, text_format = options.get("modality", "image"), options.get("text_format", "markdown")
    puzzle = doc[TEXT_COLUMNS[text_format]] if modality in ("text", "hybrid") else ""
    return prompt_text(DEFAULT_TEMPLATES[modality], modality, text_format, puzzle)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, dict[str, Any]]:
    """The puzzle's truth and the reply's answer tokens, under every metric (each aggregation scores them all)."""
    scored = {
        "id": doc["id"], "answer": doc["answer"].split(), "steps": [f"step{k}" for k in doc["blank_steps"]],
        "difficulty": doc.get("difficulty"), "predicted": answer_tokens(extract_answer(results[0]) or ""),
    }
    return dict.fromkeys(METRICS, scored)


def _score(results: list[dict[str, Any]]) -> dict[str, Any]:
    truths = [Truth(r["id"], tuple(r["answer"]), tuple(r["steps"]), r["difficulty"]) for r in results]
    return score_sample(truths, [r["predicted"] for r in results])


def _percent(value: float | None) -> float:
    return math.nan if value is None else 100 * value


def micro(results: list[dict[str, Any]]) -> float:
    """Per puzzle the share of blanks right by position, averaged over puzzles, in percent."""
    return _percent(_score(results)["micro"])


def macro(results: list[dict[str, Any]]) -> float:
    """The share of puzzles whose whole answer is right, in percent."""
    return _percent(_score(results)["macro"])


def step1(results: list[dict[str, Any]]) -> float:
    """Accuracy on step-1 blanks, pooled over puzzles, in percent (NaN when there are none)."""
    return _percent(_score(results)["steps"]["step1"])


def step2(results: list[dict[str, Any]]) -> float:
    return _percent(_score(results)["steps"]["step2"])


def step3(results: list[dict[str, Any]]) -> float:
    return _percent(_score(results)["steps"]["step3"])


def step4plus(results: list[dict[str, Any]]) -> float:
    """Accuracy on blanks of step 4 or deeper."""
    return _percent(_score(results)["steps"]["step4+"])


def process_transcription(doc: dict[str, Any], results: list[str]) -> dict[str, dict[str, Any]]:
    """A transcription's figures against the true grid (fractions; None where the grid lacks that kind of cell),
    under every read metric."""
    reading = score_reading(true_grid(doc["markdown_table"]), results[0])
    return dict.fromkeys(FIGURES, puzzle_shares(reading))


def _read_mean(results: list[dict[str, float | None]], name: str) -> float:
    """A read figure's mean over the puzzles that have it, in percent (``extra``: lower is better)."""
    values = [value for r in results if (value := r[name]) is not None]
    return 100 * sum(values) / len(values) if values else math.nan


read_cells = partial(_read_mean, name="cells")
read_numbers = partial(_read_mean, name="numbers")
read_operators = partial(_read_mean, name="operators")
read_equals = partial(_read_mean, name="equals")
read_blanks = partial(_read_mean, name="blanks")
read_extra = partial(_read_mean, name="extra")
read_grid_exact = partial(_read_mean, name="grid_exact")
read_shape = partial(_read_mean, name="shape")
