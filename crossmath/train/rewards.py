"""Reward functions for TRL's GRPOTrainer, usable in your own TRL scripts.

Each takes the batch's ``completions`` (plain strings, or chat messages as TRL passes for conversational
prompts) and dataset columns as keyword arguments, and returns one float per completion:

- :func:`correctness_reward` (column ``answer``): the benchmark's micro score of one reply, the share of blanks
  right by position, so a partly right answer earns partial credit;
- :func:`format_reward` (column ``answer``): 1 for an ``<answer>`` block of whole numbers, one per blank; 0.5 for
  such a block with the wrong count; 0 when the reply has no parsable ``<answer>`` block;
- :func:`consistency_reward` (column ``puzzle``, the markdown table): the share of the puzzle's equations that
  hold with the reply's numbers in the blanks, whatever the true answer (a reply that contradicts itself earns
  less than one that merely differs);
- :func:`read_reward` (column ``puzzle``, and ``text_format`` when the prompt asked for another form than markdown):
  the cell accuracy of a transcription, the share of the puzzle's non-empty cells its ``<grid>`` reads right, as
  ``crossmath-eval --modality transcribe`` scores it; 0 for a reply without a parsable grid. It scores replies to
  the transcription prompt, the others replies to a solving prompt.

    from trl import GRPOTrainer
    from crossmath.train.rewards import correctness_reward, format_reward
    GRPOTrainer(model, reward_funcs=[correctness_reward, format_reward], train_dataset=rows, ...)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from crossmath.eval.answers import ANSWER_TAG, answer_tokens, extract_answer, without_reasoning
from crossmath.eval.metrics import Truth, blank_correctness

WHOLE_NUMBERS = re.compile(r"\d+(?: \d+)*")


def reply_text(completion: Any) -> str:
    """The text of a completion: a string, or the content of the last chat message (text parts joined)."""
    if isinstance(completion, str):
        return completion
    content = completion[-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content if part.get("type") == "text")


def micro_score(reply: str, answer: str) -> float:
    """The share of blanks the reply gets right by position, as the evaluator scores one reply."""
    truth = Truth("", tuple(answer.split()), ())
    return sum(blank_correctness(truth, answer_tokens(extract_answer(reply) or ""))) / len(truth.answer)


def correctness_reward(completions: Sequence[Any], answer: Sequence[str], **_: Any) -> list[float]:
    return [micro_score(reply_text(c), a) for c, a in zip(completions, answer)]


def format_score(reply: str, answer: str) -> float:
    tagged = ANSWER_TAG.search(without_reasoning(reply))
    if tagged is None:
        return 0.0
    values = " ".join(answer_tokens(tagged.group(0)))
    if not WHOLE_NUMBERS.fullmatch(values):
        return 0.0
    return 1.0 if len(values.split()) == len(answer.split()) else 0.5


def format_reward(completions: Sequence[Any], answer: Sequence[str], **_: Any) -> list[float]:
    return [format_score(reply_text(c), a) for c, a in zip(completions, answer)]


def consistency_score(reply: str, puzzle: str) -> float:
    """The share of equations of the markdown ``puzzle`` that hold with the reply's values in its blanks."""
    from crossmath.puzzles.arith import evaluate
    from crossmath.puzzles.model import PuzzleError
    from crossmath.puzzles.text import from_markdown

    try:
        grid = from_markdown(puzzle, solve=False)
    except PuzzleError:
        return 0.0
    tokens = answer_tokens(extract_answer(reply) or "")
    values = dict(grid.givens)
    for cell, token in zip(grid.blanks, tokens):
        if token.isdigit():
            values[cell] = int(token)
    holding = 0
    for equation in grid.equations:
        a, b, c = (values.get(cell) for cell in equation.cells)
        holding += None not in (a, b, c) and evaluate(equation.op, a, b) == c  # type: ignore[arg-type]
    return holding / len(grid.equations)


def consistency_reward(completions: Sequence[Any], puzzle: Sequence[str], **_: Any) -> list[float]:
    return [consistency_score(reply_text(c), p) for c, p in zip(completions, puzzle)]


def read_score(reply: str, puzzle: str, text_format: str = "markdown") -> float:
    """The share of the non-empty cells of the markdown ``puzzle`` that the reply's grid (in ``text_format``) reads
    right; 0 when it holds no grid."""
    from crossmath.eval.transcripts import score_reading, true_grid

    return score_reading(true_grid(puzzle), reply, text_format).cell_accuracy or 0.0


def read_reward(completions: Sequence[Any], puzzle: Sequence[str], text_format: Sequence[str] | None = None,
                **_: Any) -> list[float]:
    formats = text_format or ["markdown"] * len(completions)
    return [read_score(reply_text(c), p, f) for c, p, f in zip(completions, puzzle, formats)]


REWARDS: dict[str, Callable[..., list[float]]] = {
    "correctness": correctness_reward, "format": format_reward, "consistency": consistency_reward,
    "read": read_reward,
}
"""The reward functions by name, as ``--rewards`` takes them."""
