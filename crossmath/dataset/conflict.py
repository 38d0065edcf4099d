"""Conflict configs (``crossmath-build --conflict``): per style, a test-only config ``<style>-conflict`` whose image
shows the row's puzzle A (the same id, image and answer as the plain config) while the ``conflict_*`` text columns
show its twin B (:mod:`crossmath.puzzles.twins`): the same layout and blanks, a few shown numbers changed, another
answer. A hybrid run on it sends the image of A with the text of B, and the report tells which one the model
followed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import datasets

from crossmath.dataset.factors import Config
from crossmath.errors import SettingsError
from crossmath.puzzles.model import Puzzle
from crossmath.puzzles.text import FORMATS
from crossmath.puzzles.twins import make_twin
from crossmath.schema import CONFLICT_PREFIX, CONFLICT_SUFFIX, GRID_COLUMNS

CONFLICT_DOCS = {
    "conflict_markdown_table": "puzzle B, the twin the text shows in a hybrid prompt: A's layout and blanks with a "
                               "few shown numbers changed (the image shows A)",
    "conflict_answer": "B's answer: its blanks' values in reading order (differs from `answer` in at least one)",
    "conflict_cells": "the shown number cells whose values differ between A and B, as [row, column]",
}


def conflict_configs(configs: list[Config]) -> list[Config]:
    """One conflict config per plain config, named ``<name>-conflict``; refuses a name that is taken."""
    names = {config.name for config in configs}
    made = []
    for config in configs:
        name = config.name + CONFLICT_SUFFIX
        if name in names:
            raise SettingsError(f"--conflict would add a config {name}, but a style already has that name")
        made.append(replace(config, name=name, style=replace(config.style, name=name), conflict_of=config.name))
    return made


def check_conflict(test_size: int, vary: dict[str, list[Any]], outputs: tuple[str, ...]) -> None:
    """Refuse settings a conflict build cannot have, one reason each."""
    if not test_size:
        raise SettingsError("--conflict makes test-only configs: it needs a test split (--test-size 1 or more)")
    if vary:
        raise SettingsError("--conflict pairs each plain style with its twin text; it cannot be combined with --vary")
    if "hf" not in outputs:
        raise SettingsError("--conflict configs are written as Hugging Face data only: add hf to --format")


def conflict_features(text_formats: tuple[str, ...]) -> dict[str, Any]:
    """The columns a conflict config adds after the plain ones."""
    text = datasets.Value("string")
    columns: dict[str, Any] = {"conflict_markdown_table": text}
    columns.update({CONFLICT_PREFIX + GRID_COLUMNS[name]: text for name in text_formats if name in GRID_COLUMNS})
    columns["conflict_answer"] = text
    columns["conflict_cells"] = datasets.List(datasets.List(datasets.Value("int32"), length=2))
    return columns


def conflict_doc(column: str) -> str:
    """What a ``conflict_*`` column holds, for the dataset card."""
    if column in CONFLICT_DOCS:
        return CONFLICT_DOCS[column]
    return f"puzzle B in the {column.removeprefix(CONFLICT_PREFIX + 'grid_')} text form"


def conflict_rows(rows: list[dict[str, Any]], puzzles: list[Puzzle], config: Config,
                  text_formats: tuple[str, ...], seed: int) -> tuple[list[dict[str, Any]], Counter[int]]:
    """The conflict config's rows from its plain config's rows (the same images), and how many rows changed
    each number of shown cells."""
    out, changed = [], Counter[int]()
    for row, puzzle in zip(rows, puzzles, strict=True):
        twin = make_twin(puzzle, seed=seed)
        extra: dict[str, Any] = {"conflict_markdown_table": FORMATS["markdown"][0](twin.puzzle)}
        for name in text_formats:
            if name in GRID_COLUMNS:
                extra[CONFLICT_PREFIX + GRID_COLUMNS[name]] = FORMATS[name][0](twin.puzzle)
        extra["conflict_answer"] = twin.puzzle.answer
        extra["conflict_cells"] = [list(cell) for cell in twin.cells]
        out.append({**row, "style": config.name, **extra})
        changed[len(twin.cells)] += 1
    return out, changed


def changes_line(changes: dict[str, int]) -> str:
    """The card's sentence on how many shown numbers differ between A and B, as a distribution over rows."""
    total = sum(changes.values())
    parts = ", ".join(f"{k} in {n} puzzle{'s' if n != 1 else ''} ({100 * n / total:.1f}%)"
                      for k, n in sorted(changes.items(), key=lambda kv: int(kv[0])))
    return (f"Conflict configs (`*{CONFLICT_SUFFIX}`, test split only): the image shows puzzle A, the same as in the "
            "plain config (id, image, answer); the `conflict_*` text columns show its twin B, with the same layout, "
            "operators and blanks, both proven sound and unique, with answers that differ in at least one blank. "
            f"Shown numbers that differ between A and B: {parts}.")
