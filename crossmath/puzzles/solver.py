"""The solver and verifier: round-based solving with step levels, and an independent proof of uniqueness.

Rounds follow DESIGN.md exactly: round k solves every equation that has exactly one unknown given the values known
at the start of round k, and the blanks it finds get step level k. The uniqueness proof does not trust the rounds:
a depth-first search starts again from the shown numbers, propagates single unknowns one at a time and branches
over the number range wherever propagation stalls, stopping at the second solution it finds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from crossmath.puzzles.arith import evaluate, solve_unknown
from crossmath.puzzles.model import Analysis, Cell, Equation, Puzzle, PuzzleError

DEFAULT_RANGE = (1, 250)
"""Values a blank may take in the uniqueness search when neither the caller nor the puzzle names a range."""

DEFAULT_MAX_NODES = 200_000
"""Branches the uniqueness search may try before it gives up and reports uniqueness as undecided."""


class Contradiction(PuzzleError):
    """The shown numbers admit no solution: an equation is false, or an unknown has no valid value."""


def describe(eq: Equation) -> str:
    """How messages name an equation: ``across equation at row 2, column 0``."""
    return f"{eq.direction} equation at row {eq.row}, column {eq.col}"


def _shown(eq: Equation, values: Mapping[Cell, int | None]) -> str:
    a, b, c = ("?" if values.get(cell) is None else str(values[cell]) for cell in eq.cells)
    return f"{a}{eq.op}{b}={c}"


def solve(
    puzzle: Puzzle,
    *,
    number_range: tuple[int, int] | None = None,
    minimum: int = 1,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Analysis:
    """Solve a puzzle from its shown numbers alone, give every blank its step level, and prove uniqueness.

    ``minimum`` is the smallest value a cell may hold (1: no zeros, no negatives). ``number_range`` bounds the
    values the uniqueness search branches over; it defaults to the puzzle's own range. Raises
    :class:`Contradiction` when no solution exists.
    """
    givens = puzzle.givens
    known, steps, rounds = _solve_in_rounds(puzzle, minimum)
    lo, hi = number_range or puzzle.info.number_range or DEFAULT_RANGE
    found, exhausted = _search(puzzle.equations, givens, puzzle.blanks, (max(lo, minimum), hi), minimum, max_nodes)
    if not found:
        if exhausted:
            raise Contradiction(f"no solution exists with values in [{max(lo, minimum)}, {hi}]")
        raise Contradiction(f"uniqueness undecided: no solution found within {max_nodes} search branches")
    values = {cell: known[cell] for cell in puzzle.blanks} if len(steps) == len(puzzle.blanks) else found[0]
    if len(found) > 1:
        second = next(s for s in found if s != values)
        return Analysis(values, steps, rounds, False, second)
    if found[0] != values:  # pragma: no cover - the two solvers disagreeing would be a bug in one of them
        raise AssertionError("rounds and search disagree on the solution")
    return Analysis(values, steps, rounds, True if exhausted else None)


def analyse(puzzle: Puzzle) -> Analysis:
    """The analysis ``puzzle`` carries, or :func:`solve`'s with the default limits when it carries none."""
    return puzzle.analysis if puzzle.analysis is not None else solve(puzzle)


def _check_true(eq: Equation, values: Mapping[Cell, int | None]) -> None:
    a, b, c = map(values.get, eq.cells)
    if a is not None and b is not None and c is not None and evaluate(eq.op, a, b) != c:
        raise Contradiction(f"{describe(eq)} is false: {a}{eq.op}{b}={c}")


def _solve_in_rounds(puzzle: Puzzle, minimum: int) -> tuple[dict[Cell, int], dict[Cell, int], tuple]:
    known: dict[Cell, int] = dict(puzzle.givens)
    unknown = set(puzzle.blanks)
    steps: dict[Cell, int] = {}
    rounds: list[tuple[Equation, ...]] = []
    plans = [(eq, eq.op, eq.cells) for eq in puzzle.equations]
    while unknown:
        ready: list[Equation] = []
        found: dict[Cell, int] = {}
        for eq, op, cells in plans:
            missing = [i for i in (0, 1, 2) if cells[i] in unknown]
            if len(missing) != 1:
                continue
            ready.append(eq)
            position = missing[0]
            value = solve_unknown(op, position, known.get(cells[0]), known.get(cells[1]), known.get(cells[2]))
            if value is None or value < minimum:
                raise Contradiction(f"{describe(eq)} ({_shown(eq, known)}) has no valid value for its unknown")
            if found.setdefault(cells[position], value) != value:
                raise Contradiction(f"two equations give blank {cells[position]} different values "
                                    f"({found[cells[position]]} and {value})")
        if not ready:
            break
        level = len(rounds) + 1
        known.update(found)
        for cell in found:
            steps[cell] = level
        unknown.difference_update(found)
        rounds.append(tuple(ready))
    for eq in puzzle.equations:  # shown numbers must agree, and so must every value with each equation through it
        _check_true(eq, known)
    return known, steps, tuple(rounds)


def _search(
    equations: tuple[Equation, ...],
    givens: Mapping[Cell, int],
    blanks: tuple[Cell, ...],
    domain: tuple[int, int],
    minimum: int,
    max_nodes: int,
) -> tuple[list[dict[Cell, int]], bool]:
    """Up to two solutions, and whether the search space was exhausted (False when the budget ran out)."""
    plans = [(eq.op, eq.cells) for eq in equations]
    solutions: list[dict[Cell, int]] = []
    budget = max_nodes

    def propagate(known: dict[Cell, int]) -> bool:
        progress = True
        while progress:
            progress = False
            for op, cells in plans:
                a, b, c = known.get(cells[0]), known.get(cells[1]), known.get(cells[2])
                missing = (a is None) + (b is None) + (c is None)
                if missing == 0:
                    if evaluate(op, a, b) != c:  # type: ignore[arg-type]
                        return False
                elif missing == 1:
                    position = 0 if a is None else 1 if b is None else 2
                    value = solve_unknown(op, position, a, b, c)
                    if value is None or value < minimum:
                        return False
                    known[cells[position]] = value
                    progress = True
        return True

    # Depth first with an explicit stack (one iterator of candidate states per branching level), so that a grid
    # with hundreds of free blanks cannot exhaust Python's recursion limit.
    stack: list[Iterator[dict[Cell, int]]] = [iter([dict(givens)])]
    while stack:
        known = next(stack[-1], None)
        if known is None:
            stack.pop()
            continue
        if len(stack) > 1:
            budget -= 1
            if budget < 0:
                return solutions, False
        if not propagate(known):
            continue
        free = [cell for cell in blanks if cell not in known]
        if not free:
            solutions.append({cell: known[cell] for cell in blanks})
            if len(solutions) >= 2:
                return solutions, True
            continue
        stack.append(_branches(known, free[0], domain))
    return solutions, True


def _branches(known: dict[Cell, int], cell: Cell, domain: tuple[int, int]) -> Iterator[dict[Cell, int]]:
    """The states that give ``cell`` each value of ``domain`` in turn, made one at a time."""
    for value in range(domain[0], domain[1] + 1):
        yield {**known, cell: value}
