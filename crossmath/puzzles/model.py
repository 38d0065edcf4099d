"""The puzzle model: equations on the parity lattice, number values, blanks, provenance and analysis.

A :class:`Puzzle` is immutable and hashable; equality compares its content (layout, operators, values, blanks),
never its provenance or its analysis. Layout rules (DESIGN.md, "The puzzle") are checked when a puzzle is made, so
every ``Puzzle`` in memory has a well-formed grid; whether its numbers add up is the solver's business.

This module is pure data: it imports neither the solver nor the text forms, which import it. An :class:`Analysis`
(what :func:`crossmath.puzzles.solver.solve` found) is data too, and a puzzle may carry one in its ``analysis``
field, so that the generator's check or a parse does not have to be solved again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property
from typing import Any

from crossmath.errors import CrossmathError
from crossmath.puzzles.arith import OPERATORS

Cell = tuple[int, int]
"""A grid position ``(row, column)``, counted from the top-left corner."""

ACROSS, DOWN = "across", "down"
EQUALS = "="
BLANK = "?"
EQUATION_SPAN = 5
MIN_GAP = EQUATION_SPAN + 1
"""Two collinear equations start at least this many cells apart, which leaves one empty cell between them."""
MAX_SIDE = 61
"""The largest grid, in cells per side (the published puzzles reach 17x21). It bounds the work any puzzle costs:
reading, solving and drawing a hostile grid of thousands of cells would take minutes or exhaust memory."""
MAX_DIGITS = 9
"""The longest number a grid may show (so every value fits 32 bits, and a 5,000-digit cell is refused)."""


class PuzzleError(CrossmathError):
    """A grid that breaks the puzzle rules, a text that does not parse, or a puzzle with no valid solution."""


@dataclass(frozen=True, order=True)
class Equation:
    """``A op B = C`` laid out across (left to right) or down (top to bottom) from ``(row, col)``."""

    direction: str
    row: int
    col: int
    op: str
    cells: tuple[Cell, Cell, Cell] = field(init=False, repr=False, compare=False)
    """The three number cells A, B and C (worked out once: every solver step reads them)."""

    def __post_init__(self) -> None:
        r, c = self.row, self.col
        across = self.direction == ACROSS
        cells = ((r, c), (r, c + 2), (r, c + 4)) if across else ((r, c), (r + 2, c), (r + 4, c))
        object.__setattr__(self, "cells", cells)

    @property
    def symbol_cells(self) -> tuple[Cell, Cell]:
        """The operator cell and the ``=`` cell."""
        r, c = self.row, self.col
        if self.direction == ACROSS:
            return (r, c + 1), (r, c + 3)
        return (r + 1, c), (r + 3, c)

    def text(self, values: Mapping[Cell, int | None]) -> str:
        """The equation written solved and without spaces, e.g. ``128÷8=16``."""
        a, b, c = map(values.__getitem__, self.cells)  # written for every equation of every row
        return f"{a}{self.op}{b}={c}"

    def shifted(self, drow: int, dcol: int) -> Equation:
        """The same equation moved by ``(drow, dcol)``."""
        return Equation(self.direction, self.row + drow, self.col + dcol, self.op)


@dataclass(frozen=True)
class Analysis:
    """What :func:`crossmath.puzzles.solver.solve` found out about a puzzle."""

    values: dict[Cell, int]
    """Every blank's value (from the rounds, or from the search where the rounds stall)."""
    steps: dict[Cell, int]
    """The step level of each blank the rounds solve; a blank the rounds cannot reach has none."""
    rounds: tuple[tuple[Equation, ...], ...]
    """For each round k, the equations that have exactly one unknown at its start, in the puzzle's order."""
    unique: bool | None
    """True when the search proved no other solution exists, False when it found one, None if it ran out of budget."""
    second: dict[Cell, int] | None = None
    """Another solution, when the puzzle has several."""

    @property
    def complete(self) -> bool:
        """True when the rounds alone solve every blank."""
        return len(self.steps) == len(self.values)

    @property
    def depth(self) -> int:
        """The deepest step level (0 for a puzzle without blanks)."""
        return max(self.steps.values(), default=0)

    @property
    def answer(self) -> str:
        """The blanks' values in reading order, separated by single spaces."""
        return " ".join(str(self.values[cell]) for cell in sorted(self.values))


@dataclass(frozen=True)
class PuzzleInfo:
    """What a puzzle is labelled with and where it came from; not part of its content."""

    difficulty: str | None = None
    number_range: tuple[int, int] | None = None
    operators: str | None = None
    """The operator set the puzzle was drawn from, in ASCII (``"+-*/"``)."""
    seed: int | None = None
    index: int | None = None
    generator: str | None = None
    """``"crossmath <version>/<generator version>"`` for generated puzzles."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.number_range is not None:
            data["number_range"] = list(self.number_range)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PuzzleInfo:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if known.get("number_range") is not None:
            known["number_range"] = tuple(known["number_range"])
        return cls(**known)


@dataclass(frozen=True)
class Puzzle:
    """A cross-math puzzle: equations, the value of every number cell, and which number cells are blank.

    ``numbers`` lists every number cell in reading order with its value; a blank's value is its solution, or None
    when the puzzle was read from a text that does not carry the solution and has not been solved. Build puzzles
    with :meth:`Puzzle.make`, which normalises the layout to the top-left corner and checks the layout rules.
    ``analysis`` is what the solver found on the puzzle, when it was worked out (by the generator, a parse with
    ``solve``, or :meth:`with_analysis`); like ``info`` it is not part of the puzzle's content.
    """

    rows: int
    cols: int
    equations: tuple[Equation, ...]
    numbers: tuple[tuple[Cell, int | None], ...]
    blanks: tuple[Cell, ...]
    info: PuzzleInfo = field(default=PuzzleInfo(), compare=False)
    analysis: Analysis | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_layout(self)

    @classmethod
    def make(
        cls,
        equations: Iterable[Equation],
        values: Mapping[Cell, int | None],
        blanks: Iterable[Cell] = (),
        info: PuzzleInfo = PuzzleInfo(),
    ) -> Puzzle:
        """Build a puzzle from equations anywhere on the lattice, moving the grid so its content starts at (0, 0)."""
        equations = list(equations)
        if not equations:
            raise PuzzleError("a puzzle needs at least one equation")
        cells = [cell for eq in equations for cell in eq.cells]
        cell_rows, cell_cols = zip(*cells)  # one pass, then the builtins: every generated puzzle is made here
        top, left = min(cell_rows), min(cell_cols)
        if top % 2 or left % 2:
            raise PuzzleError("number cells must sit on even rows and even columns")
        moved = sorted(
            (eq.shifted(-top, -left) for eq in equations),
            key=lambda eq: (eq.direction != ACROSS, eq.row, eq.col),
        )
        numbers = tuple(sorted(((r - top, c - left), values.get((r, c))) for r, c in set(cells)))
        blank_cells = tuple(sorted((r - top, c - left) for r, c in set(blanks)))
        rows = max(cell_rows) - top + 1
        cols = max(cell_cols) - left + 1
        return cls(rows, cols, tuple(moved), numbers, blank_cells, info)

    # -- reading the puzzle ---------------------------------------------------------------------------------------

    @cached_property
    def values(self) -> dict[Cell, int | None]:
        """Every number cell and its value (a blank's solution, or None when unsolved)."""
        return dict(self.numbers)

    @cached_property
    def givens(self) -> dict[Cell, int]:
        """The number cells that are shown, with their values."""
        blank = set(self.blanks)
        return {cell: value for cell, value in self.numbers if cell not in blank}  # type: ignore[misc]

    @property
    def across(self) -> tuple[Equation, ...]:
        return tuple(eq for eq in self.equations if eq.direction == ACROSS)

    @property
    def down(self) -> tuple[Equation, ...]:
        return tuple(eq for eq in self.equations if eq.direction == DOWN)

    @property
    def is_solved(self) -> bool:
        """True when every blank carries its value."""
        values = self.values
        return all(values[cell] is not None for cell in self.blanks)

    @property
    def solved_values(self) -> tuple[int, ...]:
        """The blanks' values in reading order."""
        if not self.is_solved:
            raise PuzzleError("this puzzle carries no solution; use crossmath.solve() on it")
        values = self.values
        return tuple(values[cell] for cell in self.blanks)  # type: ignore[misc]

    @property
    def answer(self) -> str:
        """The answer string: the blanks' values in reading order, separated by single spaces."""
        return " ".join(str(v) for v in self.solved_values)

    @property
    def steps(self) -> dict[Cell, int]:
        """The step level of every blank (the round in which it is solved), from the analysis the puzzle carries."""
        if self.analysis is None:
            raise PuzzleError("this puzzle carries no analysis; use crossmath.puzzles.solver.analyse() on it")
        return self.analysis.steps

    def grid(self, *, solved: bool = False) -> list[list[str]]:
        """The grid as rows of cell texts: a number, an operator, ``=``, ``?`` for a blank, ``""`` for empty."""
        return [list(row) for row in self.grid_rows(solved=solved)]

    def grid_rows(self, *, solved: bool = False) -> tuple[tuple[str, ...], ...]:
        """:meth:`grid` as read-only rows, worked out once per puzzle: the leak key, the image and every text form
        of a dataset row read the same grid instead of each building it again."""
        return self._solved_grid if solved else self._shown_grid

    @cached_property
    def _shown_grid(self) -> tuple[tuple[str, ...], ...]:
        return self._make_grid(solved=False)

    @cached_property
    def _solved_grid(self) -> tuple[tuple[str, ...], ...]:
        return self._make_grid(solved=True)

    def _make_grid(self, *, solved: bool) -> tuple[tuple[str, ...], ...]:
        grid = [[""] * self.cols for _ in range(self.rows)]
        for eq in self.equations:
            (r1, c1), (r2, c2) = eq.symbol_cells
            grid[r1][c1] = eq.op
            grid[r2][c2] = EQUALS
        blank = set(self.blanks)
        for (r, c), value in self.numbers:
            if (r, c) in blank and not solved:
                grid[r][c] = BLANK
            elif value is None:
                raise PuzzleError("cannot draw the solved grid of an unsolved puzzle")
            else:
                grid[r][c] = str(value)
        return tuple(map(tuple, grid))

    def iter_cells(self) -> Iterator[tuple[Cell, str]]:
        """Every filled cell with its text (blanks as ``?``), in reading order."""
        for r, row in enumerate(self.grid_rows()):
            for c, text in enumerate(row):
                if text:
                    yield (r, c), text

    def with_values(self, values: Mapping[Cell, int]) -> Puzzle:
        """This puzzle with the blanks that have no value yet filled in from ``values``."""
        merged = {cell: (values.get(cell, v) if v is None else v) for cell, v in self.numbers}
        return self._unchecked(numbers=tuple(merged.items()))

    def with_analysis(self, analysis: Analysis) -> Puzzle:
        """This puzzle carrying ``analysis``, its blanks' values filled in from it."""
        return self.with_values(analysis.values)._unchecked(analysis=analysis)

    def with_info(self, **changes: Any) -> Puzzle:
        """This puzzle with some of its labels changed (and the analysis it carries, if any)."""
        return self._unchecked(info=replace(self.info, **changes))

    def _unchecked(self, **changes: Any) -> Puzzle:
        """A copy with ``changes`` that keep the layout rules (labels, or a value for a blank that had none), made
        without checking the layout again: the checks cost as much as drawing a grid, and these copies are made
        for every generated puzzle."""
        copy = object.__new__(type(self))
        for name in _FIELDS:
            object.__setattr__(copy, name, changes.get(name, getattr(self, name)))
        return copy

    # -- dict form ------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` turns back into an equal puzzle, labels included."""
        return {
            "rows": self.rows,
            "cols": self.cols,
            "equations": [[eq.direction, eq.row, eq.col, eq.op] for eq in self.equations],
            "numbers": [[r, c, v] for (r, c), v in self.numbers],
            "blanks": [[r, c] for r, c in self.blanks],
            "info": self.info.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Puzzle:
        try:
            equations = tuple(Equation(d, int(r), int(c), op) for d, r, c, op in data["equations"])
            numbers = tuple(((int(r), int(c)), None if v is None else int(v)) for r, c, v in data["numbers"])
            blanks = tuple((int(r), int(c)) for r, c in data["blanks"])
            info = PuzzleInfo.from_dict(data.get("info", {}))
            return cls(int(data["rows"]), int(data["cols"]), equations, numbers, blanks, info)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, PuzzleError):
                raise
            raise PuzzleError(f"not a puzzle dict: {exc}") from exc


_FIELDS = tuple(f.name for f in fields(Puzzle))


def _check_layout(p: Puzzle) -> None:
    """Raise PuzzleError unless the puzzle obeys the layout rules of DESIGN.md."""
    if not p.equations:
        raise PuzzleError("a puzzle needs at least one equation")
    lines: dict[tuple[str, int], list[int]] = {}
    number_cells: set[Cell] = set()
    for eq in p.equations:
        if eq.direction not in (ACROSS, DOWN):
            raise PuzzleError(f"unknown direction {eq.direction!r}")
        if eq.op not in OPERATORS:
            raise PuzzleError(f"unknown operator {eq.op!r}")
        if eq.row % 2 or eq.col % 2:
            raise PuzzleError(f"equation at {eq.row},{eq.col} does not start on an even row and column")
        line, start = ((ACROSS, eq.row), eq.col) if eq.direction == ACROSS else ((DOWN, eq.col), eq.row)
        lines.setdefault(line, []).append(start)
        number_cells.update(eq.cells)
    for (direction, index), starts in lines.items():
        starts.sort()
        for first, second in itertools.pairwise(starts):
            if second - first < MIN_GAP:
                raise PuzzleError(f"{direction} equations at {(direction == ACROSS and 'row') or 'column'} {index} "
                                  f"overlap or touch (starts {first} and {second})")
    cell_rows, cell_cols = zip(*number_cells)
    rows, cols = max(cell_rows) + 1, max(cell_cols) + 1
    check_size(rows, cols)
    if min(cell_rows) != 0 or min(cell_cols) != 0:
        raise PuzzleError("the grid is not tight to its content")
    if (rows, cols) != (p.rows, p.cols):
        raise PuzzleError(f"grid size {p.rows}x{p.cols} does not match its content ({rows}x{cols})")
    cells = [cell for cell, _ in p.numbers]
    if set(cells) != number_cells or len(cells) != len(number_cells):
        raise PuzzleError("the numbers do not match the equations' number cells")
    if cells != sorted(cells):
        raise PuzzleError("numbers must be listed in reading order")
    if list(p.blanks) != sorted(set(p.blanks)) or not set(p.blanks) <= number_cells:
        raise PuzzleError("blanks must be distinct number cells in reading order")
    blank = set(p.blanks)
    for cell, value in p.numbers:
        if value is None and cell not in blank:
            raise PuzzleError(f"number cell {cell} has no value")
    _check_connected(p.equations)


def check_size(rows: int, cols: int) -> None:
    """Raise PuzzleError for a grid beyond :data:`MAX_SIDE` cells per side."""
    if rows > MAX_SIDE or cols > MAX_SIDE:
        raise PuzzleError(f"the grid is {rows}x{cols} cells; crossmath handles grids up to {MAX_SIDE}x{MAX_SIDE}")


def _check_connected(equations: tuple[Equation, ...]) -> None:
    owner: dict[Cell, int] = {}
    parent = list(range(len(equations)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, eq in enumerate(equations):
        for cell in eq.cells:
            j = owner.setdefault(cell, i)
            parent[root(i)] = root(j)
    if len({root(i) for i in range(len(equations))}) > 1:
        raise PuzzleError("the equations do not form one connected group")
