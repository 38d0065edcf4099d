"""Transcriptions, the perception probe: a model's reading of the grid, parsed tolerantly, aligned to the true grid
and scored cell by cell.

A reply is read the way a person would read it: the first ``<grid>...</grid>`` (or the whole reply when it has
none; ``<think>`` blocks skipped), code fences and prose around the table ignored, missing outer pipes, padding
and other spellings (``x * / :``, unicode minus, full-width digits and signs) accepted. The rows read are then
laid over the true grid at the offset where most of the true cells agree (a reply shifted by a row or column, or
opened by a header row, is not scored as all wrong); the transposed grid is not tried, since a reading with rows
and columns swapped is a wrong reading. Every cell that is not empty in the true grid is then right or misread,
and every empty true cell the reply filled is an extra.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from crossmath.eval.answers import without_reasoning
from crossmath.puzzles.arith import canonical_operator
from crossmath.puzzles.model import BLANK, EQUALS, MAX_SIDE, Cell, PuzzleError
from crossmath.puzzles.text import GRID_WRITERS, from_grid, markdown_grid

Grid = list[list[str]]

GRID_TAG = re.compile(r"<grid>(.*?)(?:</grid>|\Z)", re.IGNORECASE | re.DOTALL)
FENCE = re.compile(r"^\s*```.*$", re.MULTILINE)
SEPARATOR = re.compile(r":?-{2,}:?")
EMPHASIS = re.compile(r"^(\*\*|__|`)(.+)\1$")
CELL_LINE = re.compile(r"^\s*(\d+)\s+(\d+)(?:\s+(\S+))?\s*$")
KINDS = ("numbers", "operators", "equals", "blanks")
"""The kinds of non-empty cells, each scored on its own."""
REACH = 2
"""How far beyond the difference in size an alignment looks (rows or columns of shift)."""
MAX_GRID_CHARS = 100_000
"""The most characters of a reply's grid text (after its reasoning and outside its ``<grid>`` tag) that are read:
a grid of ``MAX_SIDE`` x ``MAX_SIDE`` cells in any text form, padded, fits well within it; the rest of a runaway
reply is ignored, so scoring one costs bounded time and memory."""


@lru_cache(maxsize=65536)
def normalise_cell(text: str) -> str:
    """One cell's text in the grid's own spelling: ``×`` ``÷`` ``-`` for any operator spelling, ASCII digits
    without leading zeros, ``?`` and ``=`` as themselves, emphasis (``**7**``) and padding dropped."""
    cell = unicodedata.normalize("NFKC", text).strip()
    cell = EMPHASIS.sub(r"\2", cell).strip()
    operator = canonical_operator(cell)
    if operator is not None:
        return operator
    if cell.isascii() and cell.isdigit():
        return str(int(cell))
    return cell


def kind_of(text: str) -> str:
    """Which of :data:`KINDS` a non-empty true cell is."""
    if text == BLANK:
        return "blanks"
    if text == EQUALS:
        return "equals"
    return "operators" if canonical_operator(text) is not None else "numbers"


def _grid_body(reply: str) -> str:
    visible = without_reasoning(reply)
    tagged = GRID_TAG.search(visible)
    return FENCE.sub("", (tagged.group(1) if tagged else visible)[:MAX_GRID_CHARS])


def _pipe_rows(body: str) -> Grid:
    """Rows of a markdown table. Outer pipes are judged over the whole table, one side at a time: a side has them
    when no line holds anything beyond its last pipe on that side (``   | + |`` may open with an empty cell or with
    padding, and a tight grid has content in its first and last column)."""
    lines = [line.split("|") for line in body.splitlines() if "|" in line]  # other lines are prose
    left = all(not cells[0].strip() for cells in lines)
    right = all(not cells[-1].strip() for cells in lines)
    rows = []
    for cells in lines:
        cells = cells[int(left):len(cells) - int(right)]
        if any(SEPARATOR.fullmatch(c.strip()) for c in cells) and all(SEPARATOR.fullmatch(c.strip()) or not c.strip()
                                                                      for c in cells):
            continue  # a |---| line under a header
        rows.append(cells)
    return rows


def _json_rows(body: str) -> Grid:
    start, end = body.find("["), body.rfind("]")
    try:
        data = json.loads(body[start:end + 1]) if 0 <= start < end else None
    except json.JSONDecodeError:
        return []
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        return []
    return [["" if cell is None else str(cell) for cell in row] for row in data]


def _csv_rows(body: str) -> Grid:
    lines = [line for line in body.splitlines() if "," in line]
    return list(csv.reader(io.StringIO("\n".join(lines))))


def _cell_rows(body: str) -> Grid:
    entries = [m.groups() for m in map(CELL_LINE.match, body.splitlines()) if m]
    cells = {(int(r), int(c)): text for r, c, text in entries if text is not None}
    header = next(((int(r), int(c)) for r, c, text in entries if text is None), None)
    rows = header[0] if header else max((r for r, _ in cells), default=-1) + 1
    cols = header[1] if header else max((c for _, c in cells), default=-1) + 1
    rows, cols = min(rows, MAX_SIDE), min(cols, MAX_SIDE)
    return [[cells.get((r, c), "") for c in range(cols)] for r in range(rows)]


READERS = {"markdown": _pipe_rows, "json": _json_rows, "csv": _csv_rows, "cells": _cell_rows}
"""How the rows of a reply are found, per text form asked for."""


def parse_grid(reply: str, text_format: str = "markdown") -> Grid | None:
    """The grid a reply transcribes, as rows of normalised cell texts padded to one width (at most
    ``MAX_SIDE`` rows and columns); None when it holds no table in ``text_format`` at all."""
    rows = READERS[text_format](_grid_body(reply))[:MAX_SIDE]
    rows = [[normalise_cell(cell) for cell in row[:MAX_SIDE]] for row in rows]
    width = max(map(len, rows), default=0)
    if not width or not any(cell for row in rows for cell in row):
        return None
    return [row + [""] * (width - len(row)) for row in rows]


def grid_text(grid: Grid, text_format: str) -> str:
    """A grid written in a text form (the text prompt of two-stage solving, from the model's own reading)."""
    return GRID_WRITERS[text_format](grid)


def align(truth: Grid, read: Grid) -> tuple[int, int]:
    """The offset ``(rows, columns)`` at which read row ``r + rows``, column ``c + columns`` stands for true cell
    ``(r, c)``: the one that matches most non-empty true cells, the smallest shift among equals."""
    filled = [(r, c, text) for r, row in enumerate(truth) for c, text in enumerate(row) if text]
    cells = {(r, c): text for r, row in enumerate(read) for c, text in enumerate(row) if text}
    extra_rows, extra_cols = len(read) - len(truth), len(read[0]) - len(truth[0])
    offsets = sorted(((dr, dc) for dr in range(min(0, extra_rows) - REACH, max(0, extra_rows) + REACH + 1)
                      for dc in range(min(0, extra_cols) - REACH, max(0, extra_cols) + REACH + 1)),
                     key=lambda o: (abs(o[0]) + abs(o[1]), o))
    best, best_matched = (0, 0), -1
    for dr, dc in offsets:  # nearest first, so the first of equals wins and a perfect match ends the search
        matched = sum(cells.get((r + dr, c + dc)) == text for r, c, text in filled)
        if matched > best_matched:
            best, best_matched = (dr, dc), matched
            if matched == len(filled):
                break
    return best


@dataclass(frozen=True)
class Reading:
    """One transcription scored against the true grid."""

    parsed: bool
    """Whether the reply held a table at all (an unparsed reply misreads every cell)."""
    shape: tuple[int, int] | None
    """Rows and columns read (None when unparsed)."""
    shape_ok: bool
    offset: tuple[int, int]
    misread: tuple[tuple[int, int, str, str], ...]
    """(row, column, true content, read content) of every non-empty true cell read wrongly."""
    extra: tuple[tuple[int, int, str], ...]
    """(row, column, read content) of every empty true cell the reply filled."""
    counts: dict[str, tuple[int, int]]
    """Per kind of cell (:data:`KINDS`), cells right and cells in all."""
    empty: int
    """Empty cells in the true grid."""

    @property
    def cell_accuracy(self) -> float | None:
        """The share of the true grid's non-empty cells read right (None for a grid without any)."""
        right = sum(r for r, _ in self.counts.values())
        total = sum(t for _, t in self.counts.values())
        return right / total if total else None

    @property
    def exact(self) -> bool:
        """Read without any error: shape right, nothing misread, nothing extra."""
        return self.shape_ok and not self.misread and not self.extra

    def record(self) -> dict[str, Any]:
        """What ``predictions.jsonl`` keeps of it."""
        return {"parsed": self.parsed, "shape": list(self.shape) if self.shape else None, "shape_ok": self.shape_ok,
                "offset": list(self.offset), "misread": [list(m) for m in self.misread],
                "extra": [list(e) for e in self.extra]}


def score_reading(truth: Grid, reply: str, text_format: str = "markdown") -> Reading:
    """A reply to a transcription prompt scored against the true grid (rows of cell texts)."""
    read = parse_grid(reply, text_format)
    offset = align(truth, read) if read is not None else (0, 0)
    cells = {} if read is None else {(r, c): text for r, row in enumerate(read) for c, text in enumerate(row)}
    misread, extra = [], []
    right = dict.fromkeys(KINDS, 0)
    total = dict.fromkeys(KINDS, 0)
    empty = 0
    for r, row in enumerate(truth):
        for c, text in enumerate(row):
            seen = cells.get((r + offset[0], c + offset[1]), "")
            if not text:
                empty += 1
                if seen:
                    extra.append((r, c, seen))
                continue
            kind = kind_of(text)
            total[kind] += 1
            if seen == text:
                right[kind] += 1
            else:
                misread.append((r, c, text, seen))
    shape = (len(read), len(read[0])) if read is not None else None
    return Reading(read is not None, shape, shape == (len(truth), len(truth[0])), offset, tuple(misread),
                   tuple(extra), {k: (right[k], total[k]) for k in KINDS}, empty)


def true_grid(markdown: str) -> Grid:
    """The true grid of a puzzle from its markdown table."""
    return markdown_grid(markdown)


def blank_equation_cells(truth: Grid) -> list[set[Cell]]:
    """For each blank in reading order (the answer's order), every cell of the equations through it: a misread
    among them can explain a wrong value for that blank."""
    try:
        puzzle = from_grid(truth, solve=False)
    except PuzzleError:
        return []
    through: dict[Cell, set[Cell]] = {cell: set() for cell in puzzle.blanks}
    for equation in puzzle.equations:
        cells = {*equation.cells, *equation.symbol_cells}
        for cell in equation.cells:
            if cell in through:
                through[cell] |= cells
    return [through[cell] for cell in sorted(through)]


def misread_cells(record: dict[str, Any]) -> set[Cell]:
    """The misread true cells a prediction's ``read`` record names."""
    return {(int(m[0]), int(m[1])) for m in record.get("misread") or ()}


def explained(truth: Grid, correct: Sequence[bool], misread: set[Cell]) -> bool | None:
    """Whether a wrong answer is explained by misreading: some wrong blank sits in an equation holding a misread
    cell. None for a right answer."""
    if all(correct):
        return None
    through = blank_equation_cells(truth)
    return any(not ok and bool(cells & misread) for ok, cells in zip(correct, through))
