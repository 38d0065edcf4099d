"""The columns of the dataset and the row of one puzzle in one style."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import datasets

from crossmath.dataset.conflict import conflict_doc, conflict_features
from crossmath.dataset.factors import Config, column_type, column_value, png
from crossmath.dataset.settings import BuildSettings
from crossmath.puzzles.model import Puzzle
from crossmath.puzzles.text import FORMATS
from crossmath.schema import CONFLICT_PREFIX, FACTOR_PREFIX, GRID_COLUMNS

COLUMN_DOCS = {
    "id": "stable item id, the same puzzle has the same id in every config (e.g. `test-00042`)",
    "image": "the puzzle as shown to a model: blanks drawn empty (PNG)",
    "solved_image": "the completed grid (PNG), when the build includes solved images",
    "markdown_table": "the puzzle as the published markdown table, `?` at the blanks",
    "markdown_answer": "the same layout with only the blanks, filled in",
    "markdown_answer_step": "the same layout with `stepK` at each blank",
    "solutions": "every equation solved: an `Across` block, a blank line, a `Down` block",
    "solving_steps": "for each step k (list position k-1), the equations with one unknown at the start of round k",
    "grid_json": "the puzzle as a JSON list of rows (`\"\"` empty, `?` blank)",
    "grid_csv": "the puzzle as CSV, one line per row",
    "grid_cells": "the puzzle as a `rows cols` line and one `row col text` line per filled cell",
    "answer": "the blanks' values in reading order, separated by single spaces",
    "blank_steps": "the step level of each blank, in reading order",
    "difficulty": "easy, medium or hard",
    "num_equations": "number of equations",
    "num_blanks": "number of blanks",
    "rows": "grid height in cells",
    "cols": "grid width in cells",
    "number_range": "[min, max] of the numbers the puzzle was drawn from",
    "operators": "operator set in ASCII (`+-*/`)",
    "style": "the config name (the image style, with the level of every varied factor)",
    "seed": "build seed",
    "index": "the generator index of this puzzle in the seed's series",
}
"""What each column holds, for the dataset card."""

FACTOR_COLUMN_DOC = "the level of the varied factor `{}` in this config"



def features(settings: BuildSettings, config: Config | None = None) -> datasets.Features:
    """The features of a config (the plain configs' when none is named), in column order."""
    text = datasets.Value("string")
    small = datasets.Value("int32")
    columns: dict[str, Any] = {"id": text, "image": datasets.Image()}
    if settings.solved_images:
        columns["solved_image"] = datasets.Image()
    columns.update({
        "markdown_table": text, "markdown_answer": text, "markdown_answer_step": text, "solutions": text,
        "solving_steps": datasets.List(datasets.List(text)),
    })
    for name in settings.text_formats:
        if name in GRID_COLUMNS:
            columns[GRID_COLUMNS[name]] = text
    columns.update({
        "answer": text, "blank_steps": datasets.List(small), "difficulty": text, "num_equations": small,
        "num_blanks": small, "rows": small, "cols": small, "number_range": datasets.List(small, length=2),
        "operators": text, "style": text, "seed": datasets.Value("int64"), "index": datasets.Value("int64"),
    })
    types = {"int64": datasets.Value("int64"), "float64": datasets.Value("float64"), "string": text,
             "int_list": datasets.List(datasets.Value("int64"))}
    for name, kind in factor_columns(settings).items():
        columns[FACTOR_PREFIX + name] = types[kind]
    if config is not None and config.conflict_of is not None:
        columns.update(conflict_features(settings.text_formats))
    return datasets.Features(columns)


def factor_columns(settings: BuildSettings) -> dict[str, str]:
    """Each varied factor and the type of its column, from the levels it takes in any config."""
    return {name: column_type([config.levels[name] for config in settings.configs]) for name in settings.vary}


def column_doc(column: str) -> str:
    """What a column holds, for the dataset card."""
    if column.startswith(FACTOR_PREFIX):
        return FACTOR_COLUMN_DOC.format(column[len(FACTOR_PREFIX):])
    if column.startswith(CONFLICT_PREFIX):
        return conflict_doc(column)
    return COLUMN_DOCS[column]


def text_columns(puzzle: Puzzle, record: dict[str, Any], settings: BuildSettings) -> dict[str, Any]:
    """Every column that does not depend on the style (computed once per puzzle); the published-format fields
    come from the puzzle's record, which holds them already."""
    steps = puzzle.steps
    row: dict[str, Any] = {key: record[key] for key in
                           ("markdown_table", "markdown_answer", "markdown_answer_step", "solutions")}
    row["solving_steps"] = list(record["solving_steps"].values())
    for name in settings.text_formats:
        if name in GRID_COLUMNS:
            row[GRID_COLUMNS[name]] = FORMATS[name][0](puzzle)
    row.update({
        "answer": puzzle.answer,
        "blank_steps": [steps[cell] for cell in puzzle.blanks],
        "difficulty": puzzle.info.difficulty,
        "num_equations": len(puzzle.equations),
        "num_blanks": len(puzzle.blanks),
        "rows": puzzle.rows,
        "cols": puzzle.cols,
        "number_range": list(puzzle.info.number_range or (0, 0)),
        "operators": puzzle.info.operators,
        "seed": puzzle.info.seed,
        "index": puzzle.info.index,
    })
    return row


def item_id(split: str, position: int) -> str:
    """The id of item ``position`` of a split (``train-00042``): the same in every config and in a stream."""
    return f"{split}-{position:05d}"


def config_row(item_id: str, puzzle: Puzzle, config: Config, shared: dict[str, Any],
               settings: BuildSettings, images: bool = True) -> dict[str, Any]:
    """The full row of one puzzle in one config; images are PNG bytes, or None without ``images`` (for readers
    of the text alone, which then skip drawing and encoding them)."""
    def drawn(solved: bool) -> dict[str, Any] | None:
        if not images:
            return None
        return {"bytes": png(puzzle, config, seed=settings.seed, key=item_id, solved=solved), "path": None}

    row: dict[str, Any] = {"id": item_id, "image": drawn(False)}
    if settings.solved_images:
        row["solved_image"] = drawn(True)
    row.update(shared)
    row["style"] = config.name
    for name, kind in factor_columns(settings).items():
        row[FACTOR_PREFIX + name] = column_value(config.levels[name], kind)
    return row


def row_digest(row: dict[str, Any]) -> str:
    """A content hash of a row: its values, with each image replaced by the hash of its bytes."""
    canonical = {
        key: hashlib.sha256(value["bytes"]).hexdigest() if isinstance(value, dict) and "bytes" in value else value
        for key, value in row.items()
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
