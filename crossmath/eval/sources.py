"""Evaluation items from a built dataset folder, a Hub dataset id, or a file in the published JSONL layout.

The evaluator reads datasets only: everything it needs (the image, the text forms, the answer, the step level of
each blank, the difficulty) is a column of the built dataset or a key of a published record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from crossmath.errors import CrossmathError
from crossmath.puzzles.text import layer_cells

TEXT_COLUMNS = {"markdown": "markdown_table", "json": "grid_json", "csv": "grid_csv", "cells": "grid_cells"}
"""Text formats a prompt can carry, and the dataset column that holds each."""


class SourceError(CrossmathError):
    """A dataset that cannot be read, or lacks what the evaluation needs."""


@dataclass(frozen=True)
class EvalItem:
    """One puzzle as the evaluator sees it."""

    id: str
    answer: tuple[str, ...]
    """The blanks' values in reading order, as text."""
    steps: tuple[str, ...]
    """The step label of each blank (``step1``, ``step2``, ...)."""
    difficulty: str | None
    texts: dict[str, str]
    """The puzzle in each available text format."""
    load_image: Callable[[], Image.Image] = field(repr=False, compare=False)
    solving_steps: tuple[tuple[str, ...], ...] = ()
    """For each step k, the equations solved in round k, written solved (the record's ``solving_steps``)."""

    def image(self) -> Image.Image:
        return self.load_image().convert("RGB")


def load_items(source: str, style: str, split: str, limit: int | None = None) -> list[EvalItem]:
    """The items of one style and split of ``source``; ``limit`` keeps the first N."""
    path = Path(source)
    if path.suffix == ".jsonl" or path.is_file():
        if not path.is_file():
            raise SourceError(f"no such file: {source}")
        items = _published_items(path)
    else:
        items = _dataset_items(source, style, split)
    return items[:limit] if limit is not None else items


def _published_items(path: Path) -> list[EvalItem]:
    from crossmath.puzzles.records import iter_records

    items = []
    for number, record in iter_records(path):
        try:
            image_path = path.parent / record["img_blank"]
            answer = layer_cells(record["markdown_answer"])
            steps = layer_cells(record["markdown_answer_step"])
            texts = {"markdown": record["markdown_table"]}
            rounds = tuple(tuple(equations) for equations in record.get("solving_steps", {}).values())
        except (KeyError, TypeError) as exc:
            raise SourceError(f"{path}:{number}: record lacks {exc}") from None
        items.append(EvalItem(Path(record["img_blank"]).stem.removesuffix("_blank"), tuple(answer), tuple(steps),
                              record.get("difficulty"), texts, lambda p=image_path: Image.open(p), rounds))
    return items


def _dataset_items(source: str, style: str, split: str) -> list[EvalItem]:
    import datasets

    try:
        data = datasets.load_dataset(source, style, split=split)
    except Exception as exc:  # datasets raises many types for a missing config, split or repo
        raise SourceError(f"cannot load {source!r} config {style!r} split {split!r}: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    missing = {"id", "image", "answer", "blank_steps"} - set(data.column_names)
    if missing:
        raise SourceError(f"{source} lacks the columns {', '.join(sorted(missing))}; is it a crossmath build?")
    texts_of = {name: column for name, column in TEXT_COLUMNS.items() if column in data.column_names}
    plain = data.remove_columns(["image"] + [c for c in ("solved_image",) if c in data.column_names])
    items = []
    for position, row in enumerate(plain):
        items.append(EvalItem(
            row["id"], tuple(row["answer"].split()), tuple(f"step{k}" for k in row["blank_steps"]),
            row.get("difficulty"), {name: row[column] for name, column in texts_of.items()},
            lambda i=position: _image_at(data, i), tuple(map(tuple, row.get("solving_steps") or ()))))
    return items


def _image_at(data: Any, position: int) -> Image.Image:
    return data[position]["image"]


def describe_source(source: str) -> str:
    """How a source is named in configs and reports: a path made absolute, or the Hub id as given."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def source_fingerprint(source: str) -> str | None:
    """The content fingerprint of a crossmath-build folder (None for other sources)."""
    manifest = Path(source) / "crossmath_build.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint")


def slug(text: str) -> str:
    """A folder-safe name for a model or adapter: a local folder's name, or a Hub id with ``/`` as ``__``."""
    path = Path(text)
    name = path.name if path.exists() else text.strip("/").replace("/", "__")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-80:] or "model"
