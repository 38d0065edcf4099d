"""Training examples from the endless puzzle stream: the stream's rows as evaluator items, turned into the same
prompts (:func:`crossmath.train.data.example_rows`) a pre-built split gives, one row at a time as the trainer asks.
"""

from __future__ import annotations

import random
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import MODALITIES
from crossmath.eval.sources import EvalItem
from crossmath.schema import TEXT_COLUMNS
from crossmath.train.data import example_rows
from crossmath.train.options import TrainOptions

if TYPE_CHECKING:
    import datasets

    from crossmath.dataset.curriculum import Curriculum


def row_item(row: dict[str, Any]) -> EvalItem:
    """A stream row (image as PNG bytes, or None from a text-only stream) as the evaluator's item."""
    image = row["image"]

    def load_file() -> bytes:
        if image is None:
            raise CrossmathError(f"{row['id']} comes from a text-only stream (images=False): it has no image")
        return cast(bytes, image["bytes"])

    return EvalItem(row["id"], tuple(row["answer"].split()), tuple(f"step{k}" for k in row["blank_steps"]),
                    row["difficulty"], {name: row[column] for name, column in TEXT_COLUMNS.items() if column in row},
                    load_file, tuple(map(tuple, row["solving_steps"])))


def modality_of(item_id: str, modality: str, seed: int) -> str:
    """The modality of one streamed example: the one asked for, or for ``mixed`` one drawn from the seed and id."""
    return random.Random(f"{seed}/{item_id}").choice(MODALITIES) if modality == "mixed" else modality


def _example(row: dict[str, Any], *, options: TrainOptions, templates: dict[str, str]) -> dict[str, Any]:
    item = row_item(row)
    target = None if options.method == "grpo" else options.target
    modality = modality_of(item.id, options.modality, options.seed)
    return example_rows([item], [modality], templates=templates, text_format=options.text_format, target=target)[0]


def puzzle_stream(options: TrainOptions, curriculum: Curriculum | None) -> datasets.IterableDataset:
    """The stream of ``options`` (its style, seed and held-out set), at the curriculum's level when there is one."""
    from crossmath.dataset.curriculum import curriculum_stream, parse_curriculum
    from crossmath.dataset.streaming import stream

    style = options.styles[0]
    ahead = options.batch_size * options.grad_accum  # a step's rows, made while the model works on the last ones
    images = options.modality != "text"  # text prompts never show the image: the stream skips drawing it
    if curriculum is None or options.curriculum is None:
        return stream(style, seed=options.seed, exclude=options.exclude, prefetch=ahead, images=images)
    factor, levels = parse_curriculum(options.curriculum)
    return curriculum_stream(style, factor, levels, curriculum, seed=options.seed, exclude=options.exclude,
                             prefetch=ahead, images=images)


def stream_examples(options: TrainOptions, templates: dict[str, str], curriculum: Curriculum | None
                    ) -> datasets.IterableDataset:
    """Training rows made from the stream as they are read (TRL's conversational form, as for a built split)."""
    import datasets

    data = puzzle_stream(options, curriculum).cast_column("image", datasets.Image(decode=False))
    return data.map(partial(_example, options=options, templates=templates), remove_columns=data.column_names)
