"""Text serializations of a puzzle. Every grid format carries exactly what the image shows and parses back.

- ``markdown``: the published ``markdown_table`` (byte-compatible): ``| 70 | + | 58 | = | ? |   | 86 |``;
- ``json``: the grid as a JSON list of rows, ``""`` for an empty cell;
- ``csv``: one line per row, comma-separated, empty fields for empty cells;
- ``cells``: a coordinate list, one ``row col text`` line per filled cell, after a ``rows cols`` header.

Companions: :func:`markdown_answer`, :func:`markdown_answer_step`, :func:`solutions` and :func:`solving_steps`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence

from crossmath.puzzles import solver
from crossmath.puzzles.arith import canonical_operator
from crossmath.puzzles.model import (
    ACROSS,
    BLANK,
    DOWN,
    EQUALS,
    EQUATION_SPAN,
    MAX_DIGITS,
    Cell,
    Equation,
    Puzzle,
    PuzzleError,
    PuzzleInfo,
    check_size,
)

_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)")
"""A number as grids write it: ASCII digits, no leading zero (``012``, full-width or Arabic-Indic digits are not)."""


# -- writing ------------------------------------------------------------------------------------------------------

def markdown_rows(grid: Sequence[Sequence[str]]) -> str:
    """Rows of cell texts as markdown table lines."""
    # An empty cell is one space between the separators, so three spaces stand between its pipes.
    return "\n".join(["| " + " | ".join([text or " " for text in row]) + " |" for row in grid])


_JSON = json.JSONEncoder(ensure_ascii=False)
"""``json.dumps(..., ensure_ascii=False)`` made once: dumps would build a new encoder for every grid."""


def json_rows(grid: Sequence[Sequence[str]]) -> str:
    return _JSON.encode(grid)


def csv_rows(grid: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(grid)
    return out.getvalue()


def cell_rows(grid: Sequence[Sequence[str]]) -> str:
    lines = [f"{len(grid)} {max(map(len, grid), default=0)}"]
    lines += [f"{r} {c} {text}" for r, row in enumerate(grid) for c, text in enumerate(row) if text]
    return "\n".join(lines)


GRID_WRITERS: dict[str, Callable[[Sequence[Sequence[str]]], str]] = {
    "markdown": markdown_rows, "json": json_rows, "csv": csv_rows, "cells": cell_rows}
"""Each text form written from rows of cell texts (any grid, a model's transcription too, not only a puzzle)."""


def to_markdown(puzzle: Puzzle) -> str:
    """The published ``markdown_table``: one line per row, ``?`` for a blank, no header line."""
    return markdown_rows(puzzle.grid_rows())


def _blank_layer(puzzle: Puzzle, label: Callable[[Cell], str]) -> str:
    grid = [[""] * puzzle.cols for _ in range(puzzle.rows)]
    for r, c in puzzle.blanks:
        grid[r][c] = label((r, c))
    return markdown_rows(grid)


def _solved_values(puzzle: Puzzle) -> dict[Cell, int | None]:
    if not puzzle.is_solved:
        raise PuzzleError("this puzzle carries no solution")
    return puzzle.values


def markdown_answer(puzzle: Puzzle) -> str:
    """The published ``markdown_answer``: the same layout with only the blanks, filled in."""
    values = _solved_values(puzzle)
    return _blank_layer(puzzle, lambda cell: str(values[cell]))


def markdown_answer_step(puzzle: Puzzle) -> str:
    """The published ``markdown_answer_step``: ``step1``, ``step2``, ... at the blanks."""
    steps = solver.analyse(puzzle).steps
    return _blank_layer(puzzle, lambda cell: f"step{steps[cell]}")


def solutions(puzzle: Puzzle) -> str:
    """The equations written solved: an ``Across`` block, a blank line, a ``Down`` block."""
    values = _solved_values(puzzle)
    across = [eq.text(values) for eq in puzzle.across]
    down = [eq.text(values) for eq in puzzle.down]
    return "\n".join(["Across", *across, "", "Down", *down])


def solving_steps(puzzle: Puzzle) -> dict[str, list[str]]:
    """For each step k, the equations with exactly one unknown at the start of round k, written solved."""
    values = _solved_values(puzzle)
    rounds = solver.analyse(puzzle).rounds
    return {f"step{k}": [eq.text(values) for eq in ready] for k, ready in enumerate(rounds, start=1)}


def to_json_grid(puzzle: Puzzle) -> str:
    """The grid as a JSON list of rows of cell texts, ``""`` for an empty cell, ``"?"`` for a blank."""
    return json_rows(puzzle.grid_rows())


def to_csv_grid(puzzle: Puzzle) -> str:
    """The grid as CSV: one line per row, empty fields for empty cells."""
    return csv_rows(puzzle.grid_rows())


def to_cell_list(puzzle: Puzzle) -> str:
    """A ``rows cols`` header, then one ``row col text`` line per filled cell in reading order."""
    return cell_rows(puzzle.grid_rows())


# -- reading ------------------------------------------------------------------------------------------------------

def from_grid(grid: list[list[str]], *, solve: bool = True, info: PuzzleInfo = PuzzleInfo()) -> Puzzle:
    """Build a puzzle from rows of cell texts (any accepted operator spelling), finding its equations.

    With ``solve`` the puzzle is solved: it carries its analysis and its blanks' values, which requires a
    unique solution.
    """
    cells = {(r, c): text.strip() for r, row in enumerate(grid) for c, text in enumerate(row) if text.strip()}
    if not cells:
        raise PuzzleError("the grid is empty")
    width = len(grid[0])
    if any(len(row) != width for row in grid):
        raise PuzzleError("the grid's rows have different lengths")
    check_size(len(grid), width)
    edges = (grid[0], grid[-1], [row[0] for row in grid], [row[-1] for row in grid])
    if not all(any(text.strip() for text in edge) for edge in edges):  # a puzzle would be silently cropped
        raise PuzzleError(f"the grid is not tight: the {len(grid)}x{width} table has an empty first or last row or "
                          "column; remove the empty rows and columns around the puzzle")
    equations: list[Equation] = []
    covered: set[Cell] = set()
    values: dict[Cell, int | None] = {}
    blanks: list[Cell] = []
    for direction, step in ((ACROSS, (0, 1)), (DOWN, (1, 0))):
        for start in cells:
            before = (start[0] - step[0], start[1] - step[1])
            after = (start[0] + step[0], start[1] + step[1])
            if before in cells or after not in cells:
                continue
            run = [start]
            while (nxt := (run[-1][0] + step[0], run[-1][1] + step[1])) in cells:
                run.append(nxt)
            equations.append(_read_equation(direction, run, cells, values, blanks))
            covered.update(run)
    stray = sorted(set(cells) - covered)
    if stray:
        r, c = stray[0]
        raise PuzzleError(f"cell at row {r}, column {c} ({cells[stray[0]]!r}) belongs to no equation")
    puzzle = Puzzle.make(equations, values, blanks, info)
    if not solve:
        return puzzle
    analysis = solver.solve(puzzle)
    if analysis.unique is False:
        raise PuzzleError(f"the puzzle has more than one solution (e.g. {analysis.answer} and another)")
    return puzzle.with_analysis(analysis)


def _read_equation(direction: str, run: list[Cell], cells: dict[Cell, str], values: dict, blanks: list) -> Equation:
    r, c = run[0]
    texts = [cells[cell] for cell in run]
    where = f"{direction} run at row {r}, column {c}"
    if len(run) != EQUATION_SPAN:
        raise PuzzleError(f"{where} has {len(run)} cells; an equation 'A op B = C' has {EQUATION_SPAN}")
    op = canonical_operator(texts[1])
    if op is None or texts[3] != EQUALS:
        raise PuzzleError(f"{where} is not 'A op B = C': {' '.join(texts)}")
    for cell, text in zip(run[0::2], texts[0::2]):
        if text == BLANK:
            if cell not in blanks:
                blanks.append(cell)
            values[cell] = None
        elif _NUMBER.fullmatch(text) and len(text.lstrip("-")) <= MAX_DIGITS:
            values[cell] = int(text)
        elif _NUMBER.fullmatch(text):
            raise PuzzleError(f"{where}: a number of {len(text.lstrip('-'))} digits (at most {MAX_DIGITS})")
        else:
            raise PuzzleError(f"{where}: {text[:20]!r} is neither a number nor '?' "
                              "(numbers are ASCII digits without a leading zero)")
    return Equation(direction, r, c, op)


def layer_cells(markdown: str) -> list[str]:
    """The non-empty cells of a markdown grid in reading order, read the way the published scorer reads
    ``markdown_answer`` and ``markdown_answer_step``."""
    return [cell.strip() for cell in markdown.split("|") if cell.strip()]


def markdown_grid(markdown: str) -> list[list[str]]:
    """Split a markdown table into rows of cell texts (a ``|---|`` header line, if any, is skipped)."""
    rows = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not (line.startswith("|") and line.endswith("|")) or len(line) < 2:
            raise PuzzleError(f"markdown line {number} is not a table row: {line[:60]!r}")
        texts = [text.strip() for text in line[1:-1].split("|")]
        if all(re.fullmatch(r":?-{3,}:?", t) for t in texts):
            continue
        rows.append(texts)
    return rows


def from_markdown(markdown: str, *, solve: bool = True, info: PuzzleInfo = PuzzleInfo()) -> Puzzle:
    """Parse a published ``markdown_table``."""
    return from_grid(markdown_grid(markdown), solve=solve, info=info)


def from_json_grid(text: str, *, solve: bool = True, info: PuzzleInfo = PuzzleInfo()) -> Puzzle:
    try:
        grid = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PuzzleError(f"not JSON: {exc}") from exc
    if not isinstance(grid, list) or not all(isinstance(row, list) for row in grid):
        raise PuzzleError("a JSON grid is a list of rows, each a list of cell texts")
    return from_grid([[str(t) for t in row] for row in grid], solve=solve, info=info)


def from_csv_grid(text: str, *, solve: bool = True, info: PuzzleInfo = PuzzleInfo()) -> Puzzle:
    return from_grid([row for row in csv.reader(io.StringIO(text)) if row], solve=solve, info=info)


def from_cell_list(text: str, *, solve: bool = True, info: PuzzleInfo = PuzzleInfo()) -> Puzzle:
    lines = [line.split() for line in text.splitlines() if line.strip()]
    try:
        rows, cols = (int(x) for x in lines[0])
        check_size(rows, cols)
        grid = [[""] * cols for _ in range(rows)]
        for r, c, token in lines[1:]:
            grid[int(r)][int(c)] = token
    except (ValueError, IndexError) as exc:
        raise PuzzleError(f"not a cell list ('rows cols' then 'row col text' lines): {exc}") from exc
    return from_grid(grid, solve=solve, info=info)


FORMATS: dict[str, tuple[Callable[[Puzzle], str], Callable[..., Puzzle]]] = {
    "markdown": (to_markdown, from_markdown),
    "json": (to_json_grid, from_json_grid),
    "csv": (to_csv_grid, from_csv_grid),
    "cells": (to_cell_list, from_cell_list),
}
"""Every grid serialization by name: (writer, reader). Each carries the puzzle exactly as the image shows it."""
