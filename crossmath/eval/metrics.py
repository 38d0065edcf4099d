"""Scores: micro and macro accuracy and accuracy by step level, as the published scorer computes them.

Per sample (one prediction per puzzle): micro accuracy is, per puzzle, the share of blanks right by position,
averaged over puzzles; macro accuracy is the share of puzzles whose whole answer is exactly right; accuracy by
step level pools the blanks of every puzzle by step (``step1``, ``step2``, ``step3``, ``step4+``). Over samples,
each figure is the mean and sample standard deviation, in percent. A missing or unparseable answer has no
tokens, so every blank of it is wrong.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crossmath.errors import CrossmathError

STEP_CATEGORIES = ("step1", "step2", "step3", "step4+")


def step_category(label: str) -> str:
    """``step1``, ``step2``, ``step3`` or ``step4+`` for a step label (``"step 2"``, ``"3"``, ``"third"``, ...)."""
    text = str(label).strip().lower()
    number = re.search(r"\d+", text)
    if number:  # a level from 10 up (of any length, even past Python's digit limit) is step4+, as is 0
        digits = number.group().lstrip("0")
        return STEP_CATEGORIES[min(int(digits), 4) - 1] if len(digits) == 1 else "step4+"
    for word, category in (("first", "step1"), ("second", "step2"), ("third", "step3")):
        if word in text:
            return category
    return "step4+"


@dataclass(frozen=True)
class Truth:
    """What a puzzle's answer must be."""

    id: str
    answer: tuple[str, ...]
    steps: tuple[str, ...]
    difficulty: str | None = None


def blank_correctness(truth: Truth, predicted: Sequence[str]) -> list[bool]:
    """Per blank, whether the prediction has the right value at its position."""
    return [j < len(predicted) and predicted[j] == value for j, value in enumerate(truth.answer)]


def score_sample(truths: Sequence[Truth], predictions: Sequence[Sequence[str]]) -> dict:
    """The figures of one sample: one token list per puzzle, in the truths' order (fractions, not percent)."""
    micro = macro = 0.0
    right = dict.fromkeys(STEP_CATEGORIES, 0)
    total = dict.fromkeys(STEP_CATEGORIES, 0)
    by_difficulty: dict[str, list[tuple[float, float]]] = {}
    for truth, predicted in zip(truths, predictions):
        if not truth.answer:
            raise CrossmathError(f"puzzle {truth.id} has no blanks to score")
        correct = blank_correctness(truth, predicted)
        exact = float(list(predicted) == list(truth.answer))
        share = sum(correct) / len(truth.answer)
        micro += share
        macro += exact
        for ok, label in zip(correct, truth.steps):
            category = step_category(label)
            total[category] += 1
            right[category] += ok
        by_difficulty.setdefault(truth.difficulty or "unknown", []).append((share, exact))
    count = len(predictions)
    return {
        "micro": micro / count,
        "macro": macro / count,
        "steps": {c: (right[c] / total[c] if total[c] else None) for c in STEP_CATEGORIES},
        "step_counts": {c: [right[c], total[c]] for c in STEP_CATEGORIES},
        "difficulty": {d: {"puzzles": len(v), "micro": sum(s for s, _ in v) / len(v),
                           "macro": sum(e for _, e in v) / len(v)} for d, v in sorted(by_difficulty.items())},
    }


def mean_std(values: Iterable[float | None]) -> dict[str, float | None]:
    """Mean and sample standard deviation in percent (std 0 for one sample; None where nothing was scored)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"mean": None, "std": None}
    std = statistics.stdev(present) if len(present) > 1 else 0.0
    return {"mean": 100 * statistics.mean(present), "std": 100 * std}


def summarize(samples: Sequence[dict], *, puzzles: int, missing: int) -> dict:
    """Figures over samples, as ``metrics.json`` holds them."""
    difficulties = sorted({d for s in samples for d in s["difficulty"]})
    return {
        "puzzles": puzzles,
        "samples": len(samples),
        "missing_answers": missing,
        "micro": mean_std(s["micro"] for s in samples),
        "macro": mean_std(s["macro"] for s in samples),
        "steps": {c: mean_std(s["steps"][c] for s in samples) for c in STEP_CATEGORIES},
        "blanks_by_step": {c: samples[0]["step_counts"][c][1] if samples else 0 for c in STEP_CATEGORIES},
        "difficulty": {d: {"puzzles": samples[0]["difficulty"].get(d, {}).get("puzzles", 0),
                           "micro": mean_std(s["difficulty"][d]["micro"] for s in samples if d in s["difficulty"]),
                           "macro": mean_std(s["difficulty"][d]["macro"] for s in samples if d in s["difficulty"])}
                       for d in difficulties},
        "per_sample": samples,
    }
