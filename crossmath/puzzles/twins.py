"""Twins for conflict configs: a second puzzle B on puzzle A's layout, operators and blank positions that differs
from A in as few shown numbers as the grid allows, is sound and uniquely solvable, and has another answer.

Changing one shown number breaks every equation through it unless another unknown of that equation absorbs the
change, so the search tries sets of k shown cells (k = 1, 2, ...; a set is tried only when every equation through
it keeps a second unknown), gives the set's cells new values in a seeded order, and lets propagation fix the
rest: every blank (which the rounds reach exactly as in A, since the same cells are shown) and any cell of the set
that an equation forces. A full assignment is a twin when every number is in A's range, no equation is filler
(``×1``, ``÷1``, ``x÷x``) or repeated, every changed cell really changed, a blank's value differs, and the solver
proves B unique. The first twin found at the smallest k is kept, so the search depends only on A and the seed. Sets
of one cell are searched exhaustively (every shown cell, every value of the range), so a twin changes one number
whenever one suffices; beyond that the budget may stop short of the smallest k.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

from crossmath.errors import CrossmathError
from crossmath.puzzles.arith import DIVIDE, PLUS, TIMES, evaluate, solve_unknown
from crossmath.puzzles.model import Cell, Equation, Puzzle
from crossmath.puzzles.solver import solve

MAX_CHANGED = 4
"""The most shown numbers a twin may change."""
NODES_PER_SET = 300
"""Values tried per set of changed cells before the search moves on to the next set (never fewer than the range
holds, so one changed cell is tried with every value: a twin that changes two or more numbers is one for which no
single change works)."""
MAX_SETS = 400
"""Sets of changed cells tried per size before the search moves on to the next size."""


class TwinError(CrossmathError):
    """A puzzle for which no twin was found within the search budget."""


@dataclass(frozen=True)
class Twin:
    """Puzzle B of a conflict row and the shown cells whose numbers differ from A's."""

    puzzle: Puzzle
    cells: tuple[Cell, ...]


def _key(op: str, values: tuple[int, int, int]) -> tuple:
    a, b, c = values
    return (op, min(a, b), max(a, b), c) if op in (PLUS, TIMES) else (op, a, b, c)


def _filler(op: str, values: tuple[int, int, int]) -> bool:
    a, b, _ = values
    return (op == TIMES and 1 in (a, b)) or (op == DIVIDE and (b == 1 or a == b))


class _Search:
    """The twin search on one puzzle: its equations, shown numbers, range and seeded draws."""

    def __init__(self, puzzle: Puzzle, seed: int) -> None:
        self.puzzle = puzzle
        self.values = {cell: value for cell, value in puzzle.numbers if value is not None}
        if len(self.values) != len(puzzle.numbers):
            raise TwinError("a twin needs a solved puzzle (every number known)")
        self.lo, self.hi = puzzle.info.number_range or (1, max(self.values.values()))
        self.lo = max(self.lo, 1)
        key = f"crossmath:twin:{seed}:{puzzle.info.index}:{puzzle.info.difficulty}"
        self.random = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")).random
        self.through: dict[Cell, list[Equation]] = {}
        for eq in puzzle.equations:
            for cell in eq.cells:
                self.through.setdefault(cell, []).append(eq)

    def sets(self, k: int) -> Iterator[tuple[Cell, ...]]:
        """Sets of k shown cells that could change together: every equation through one keeps a second unknown."""
        shown = list(self.puzzle.givens)
        for i in range(len(shown) - 1, 0, -1):
            j = int(self.random() * (i + 1))
            shown[i], shown[j] = shown[j], shown[i]
        blanks = set(self.puzzle.blanks)
        for chosen in combinations(shown, k):
            moving = blanks | set(chosen)
            if all(sum(cell in moving for cell in eq.cells) >= 2 for cell in chosen for eq in self.through[cell]):
                yield chosen

    def propagate(self, known: dict[Cell, int]) -> bool:
        """Fill every cell an equation forces; False on a contradiction or a value outside the range."""
        progress = True
        while progress:
            progress = False
            for eq in self.puzzle.equations:
                a, b, c = (known.get(cell) for cell in eq.cells)
                missing = (a is None) + (b is None) + (c is None)
                if missing == 0:
                    if evaluate(eq.op, a, b) != c:  # type: ignore[arg-type]
                        return False
                elif missing == 1:
                    position = 0 if a is None else 1 if b is None else 2
                    value = solve_unknown(eq.op, position, a, b, c)
                    if value is None or not self.lo <= value <= self.hi:
                        return False
                    known[eq.cells[position]] = value
                    progress = True
        return True

    def candidates(self, old: int) -> Iterator[int]:
        """Every value of the range but ``old``, in a seeded order (a random start and a random stride)."""
        size = self.hi - self.lo + 1
        start = int(self.random() * size)
        stride = 1 + int(self.random() * (size - 1)) if size > 1 else 1
        while size > 1 and math.gcd(stride, size) != 1:
            stride += 1
        for i in range(size):
            value = self.lo + (start + i * stride) % size
            if value != old:
                yield value

    def assignments(self, chosen: tuple[Cell, ...]) -> Iterator[dict[Cell, int]]:
        """Full assignments with the chosen cells moved, depth first, at most NODES_PER_SET values tried."""
        fixed = {cell: value for cell, value in self.puzzle.givens.items() if cell not in chosen}
        stack: list[Iterator[dict[Cell, int]]] = [iter([fixed])]
        budget = max(NODES_PER_SET, self.hi - self.lo + 2)
        while stack and budget > 0:
            known = next(stack[-1], None)
            if known is None:
                stack.pop()
                continue
            budget -= 1
            if not self.propagate(known):
                continue
            free = [cell for cell in chosen if cell not in known]
            if not free:
                yield known
                continue
            stack.append(self.branches(known, free[0]))

    def branches(self, known: dict[Cell, int], cell: Cell) -> Iterator[dict[Cell, int]]:
        """The states that give ``cell`` each new value in turn, made one at a time."""
        for value in self.candidates(self.values[cell]):
            yield {**known, cell: value}

    def twin_of(self, known: dict[Cell, int], chosen: tuple[Cell, ...]) -> Twin | None:
        """The twin these values make, or None when they break a rule."""
        if any(known[cell] == self.values[cell] for cell in chosen):
            return None
        if all(known[cell] == self.values[cell] for cell in self.puzzle.blanks):
            return None
        keys = set()
        for eq in self.puzzle.equations:
            triple = (known[eq.cells[0]], known[eq.cells[1]], known[eq.cells[2]])
            if _filler(eq.op, triple) or _key(eq.op, triple) in keys:
                return None
            keys.add(_key(eq.op, triple))
        twin = Puzzle.make(self.puzzle.equations, known, self.puzzle.blanks, self.puzzle.info)
        analysis = solve(twin)
        if analysis.unique is not True or not analysis.complete:
            return None
        return Twin(twin.with_analysis(analysis), tuple(sorted(chosen)))


def make_twin(puzzle: Puzzle, *, seed: int, max_changed: int = MAX_CHANGED) -> Twin:
    """Puzzle B for ``puzzle`` (A): the same layout, operators and blanks, as few shown numbers changed as the
    search finds (at most ``max_changed``), sound, unique, with another answer. Deterministic from A and ``seed``."""
    search = _Search(puzzle, seed)
    for k in range(1, min(max_changed, len(puzzle.givens)) + 1):
        for tried, chosen in enumerate(search.sets(k)):
            if tried >= MAX_SETS:
                break
            for known in search.assignments(chosen):
                twin = search.twin_of(known, chosen)
                if twin is not None:
                    return twin
    raise TwinError(f"no twin of puzzle {puzzle.info.index} was found that changes at most {max_changed} shown "
                    "numbers within the search budget")
