"""What both verifiers APIs share: the environment's rows (its arguments checked) and crossmath's three rewards
on a reply's text (each API wraps them in its own scoring machinery)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import datasets

from crossmath.dataset.streaming import stream
from crossmath.errors import CrossmathError
from crossmath.eval.backends.openai_backend import api_messages
from crossmath.eval.prompts import DEFAULT_TEMPLATES, FORMAT_NAMES, MODALITIES, build_prompt
from crossmath.train.rewards import consistency_score, format_score, micro_score
from crossmath.train.streamed import modality_of, row_item


@dataclass(frozen=True)
class Rows:
    """The environment's rows, the stream's first ``size`` items: ``prompt`` (OpenAI chat messages, images as PNG
    data URLs), ``answer``, ``info`` (id, puzzle, difficulty, the modality chosen). Its arguments are checked when
    it is made, each bad one in one line (a lazy taskset would meet them only when iterated)."""

    size: int
    modality: str
    text_format: str
    seed: int
    style: str
    settings: dict[str, Any]

    def __post_init__(self) -> None:
        if self.modality not in (*MODALITIES, "mixed"):
            raise CrossmathError(f"modality is one of {', '.join(MODALITIES)} or mixed, not {self.modality!r}")
        if self.size < 1:
            raise CrossmathError(f"size is 1 or more, not {self.size}")
        if self.text_format not in FORMAT_NAMES:
            raise CrossmathError(f"text_format is one of {', '.join(FORMAT_NAMES)}, not {self.text_format!r}")
        self.stream()  # the style and settings

    def stream(self) -> datasets.IterableDataset:
        """The stream these rows come from (text prompts: no image to draw), its images as PNG bytes."""
        data = stream(self.style, seed=self.seed, images=self.modality != "text", **self.settings)
        return data.cast_column("image", datasets.Image(decode=False))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in islice(self.stream(), self.size):
            item = row_item(row)
            chosen = modality_of(item.id, self.modality, self.seed)  # as crossmath-train --stream draws it
            prompt = build_prompt(item, chosen, self.text_format, DEFAULT_TEMPLATES[chosen])
            yield {"prompt": api_messages(prompt), "answer": row["answer"],
                   "info": {"id": item.id, "puzzle": row["markdown_table"], "difficulty": row["difficulty"],
                            "modality": chosen}}


def correctness(reply: str, answer: str, puzzle: str) -> float:
    """The benchmark's micro score: the share of blanks right by position."""
    return micro_score(reply, answer)


def answer_format(reply: str, answer: str, puzzle: str) -> float:
    """1 for an ``<answer>`` block of one whole number per blank, 0.5 for the wrong count, else 0."""
    return format_score(reply, answer)


def consistency(reply: str, answer: str, puzzle: str) -> float:
    """The share of the puzzle's equations that hold with the reply's numbers."""
    return consistency_score(reply, puzzle)


REWARDS = (correctness, answer_format, consistency)
"""The rewards in the order of the environment's ``weights``."""
