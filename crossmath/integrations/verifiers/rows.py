"""What both verifiers APIs share: the environment's arguments checked, its rows, and crossmath's three rewards
on a reply's text (each API wraps them in its own scoring machinery)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import islice
from typing import Any

import datasets

from crossmath.dataset.streaming import stream
from crossmath.errors import CrossmathError
from crossmath.eval.backends.openai_backend import api_messages
from crossmath.eval.prompts import DEFAULT_TEMPLATES, MODALITIES, build_prompt
from crossmath.train.rewards import consistency_score, format_score, micro_score
from crossmath.train.streamed import row_item


def check(size: int, modality: str) -> None:
    """Refuse a modality or size the environment cannot have, in one line."""
    if modality not in (*MODALITIES, "mixed"):
        raise CrossmathError(f"modality is one of {', '.join(MODALITIES)} or mixed, not {modality!r}")
    if size < 1:
        raise CrossmathError(f"size is 1 or more, not {size}")


def examples(size: int, modality: str, text_format: str, seed: int, style: str, settings: dict[str, Any]
             ) -> Iterator[dict[str, Any]]:
    """The environment's rows, the stream's first ``size`` items: ``prompt`` (OpenAI chat messages, images as PNG
    data URLs), ``answer``, ``info`` (id, puzzle, difficulty, the modality chosen)."""
    data = stream(style, seed=seed, images=modality != "text", **settings)  # text prompts: no image to draw
    for row in islice(data.cast_column("image", datasets.Image(decode=False)), size):
        item = row_item(row)
        chosen = random.Random(f"{seed}/{item.id}").choice(MODALITIES) if modality == "mixed" else modality
        prompt = build_prompt(item, chosen, text_format, DEFAULT_TEMPLATES[chosen])
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
