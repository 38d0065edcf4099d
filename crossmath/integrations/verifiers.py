"""crossmath as a verifiers environment: ``verifiers.load_environment("crossmath.integrations.verifiers", ...)``
(or :func:`load_environment` here) gives a single-turn environment whose rubric is crossmath's rewards.

Its rows are the first ``size`` items of :func:`crossmath.dataset.stream` with the same seed and settings, as the
evaluator's prompts in text, image or hybrid form (image parts as lossless PNG data URLs, as crossmath-eval sends
them to an OpenAI-compatible server); the rubric weighs correctness (the benchmark's micro score), format and
consistency as ``weights`` say. Written for verifiers' classic API (``SingleTurnEnv`` and ``Rubric``, verifiers
0.1 to 0.3).
"""

from __future__ import annotations

import random
from itertools import islice
from typing import Any

import datasets
import verifiers as vf

from crossmath.dataset.streaming import stream
from crossmath.errors import CrossmathError
from crossmath.eval.backends.openai_backend import api_messages
from crossmath.eval.prompts import DEFAULT_TEMPLATES, MODALITIES, build_prompt
from crossmath.train.rewards import consistency_score, format_score, micro_score, reply_text
from crossmath.train.streamed import row_item

ENV_ID = "crossmath.integrations.verifiers"


def correctness(completion: Any, answer: str, **_: Any) -> float:
    """The benchmark's micro score: the share of blanks right by position."""
    return micro_score(reply_text(completion), answer)


def answer_format(completion: Any, answer: str, **_: Any) -> float:
    """1 for an ``<answer>`` block of one whole number per blank, 0.5 for the wrong count, else 0."""
    return format_score(reply_text(completion), answer)


def consistency(completion: Any, info: dict[str, Any], **_: Any) -> float:
    """The share of the puzzle's equations that hold with the reply's numbers."""
    return consistency_score(reply_text(completion), info["puzzle"])


def examples(size: int, modality: str, text_format: str, seed: int, style: str, settings: dict[str, Any]
             ) -> datasets.Dataset:
    """The environment's rows: ``prompt`` (OpenAI chat messages), ``answer``, ``info`` (id, puzzle, difficulty)."""
    rows = []
    data = stream(style, seed=seed, images=modality != "text", **settings)  # text prompts: no image to draw
    for row in islice(data.cast_column("image", datasets.Image(decode=False)), size):
        item = row_item(row)
        chosen = random.Random(f"{seed}/{item.id}").choice(MODALITIES) if modality == "mixed" else modality
        prompt = build_prompt(item, chosen, text_format, DEFAULT_TEMPLATES[chosen])
        rows.append({"prompt": api_messages(prompt), "answer": row["answer"],
                     "info": {"id": item.id, "puzzle": row["markdown_table"], "difficulty": row["difficulty"],
                              "modality": chosen}})
    return datasets.Dataset.from_list(rows)


def load_environment(size: int = 500, modality: str = "text", text_format: str = "markdown", seed: int = 0,
                     style: str = "original", weights: tuple[float, float, float] = (1.0, 0.2, 0.0),
                     **settings: Any) -> vf.SingleTurnEnv:
    """A single-turn environment of ``size`` crossmath puzzles in ``modality`` (text, image, hybrid or mixed);
    ``weights`` of correctness, format and consistency; ``settings`` are ``BuildSettings`` fields."""
    if modality not in (*MODALITIES, "mixed"):
        raise CrossmathError(f"modality is one of {', '.join(MODALITIES)} or mixed, not {modality!r}")
    if size < 1:
        raise CrossmathError(f"size is 1 or more, not {size}")
    rubric = vf.Rubric(funcs=[correctness, answer_format, consistency], weights=list(weights))
    data = examples(size, modality, text_format, seed, style, settings)
    return vf.SingleTurnEnv(dataset=data, eval_dataset=data, rubric=rubric, env_id=ENV_ID)
