"""The Puzzle model: immutable, hashable, equal by content, and always a well-formed layout."""

from __future__ import annotations

import dataclasses

import pytest

from crossmath import Puzzle, PuzzleError, generate
from crossmath.puzzles.model import ACROSS, DOWN, Equation


def test_puzzles_are_immutable_and_hashable():
    p = generate("medium", seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.rows = 3  # type: ignore[misc]
    assert len({p, generate("medium", seed=1), generate("medium", seed=2)}) == 2


def test_equality_ignores_provenance():
    p = generate("medium", seed=1)
    assert p.with_info(seed=99, difficulty="hard") == p


def test_blanks_and_answer_in_reading_order():
    p = generate("hard", seed=5)
    assert list(p.blanks) == sorted(p.blanks)
    assert p.answer == " ".join(str(p.values[c]) for c in sorted(p.blanks))


def test_make_moves_the_grid_to_the_corner():
    eq = Equation(ACROSS, 4, 6, "+")
    p = Puzzle.make([eq], {(4, 6): 1, (4, 8): 2, (4, 10): 3})
    assert (p.rows, p.cols) == (1, 5) and p.equations[0] == Equation(ACROSS, 0, 0, "+")


@pytest.mark.parametrize("equations, message", [
    ([Equation(ACROSS, 0, 0, "+"), Equation(ACROSS, 0, 4, "+")], "overlap or touch"),
    ([Equation(ACROSS, 0, 0, "+"), Equation(ACROSS, 0, 2, "+")], "overlap or touch"),
    ([Equation(ACROSS, 0, 0, "+"), Equation(DOWN, 2, 0, "+")], "connected"),
    ([Equation(ACROSS, 0, 1, "+"), Equation(DOWN, 0, 0, "+")], "even"),
    ([Equation(ACROSS, 0, 0, "^")], "unknown operator"),
])
def test_layout_rules_are_enforced(equations, message):
    values = {cell: 1 for eq in equations for cell in eq.cells}
    with pytest.raises(PuzzleError, match=message):
        Puzzle.make(equations, values)


def test_a_number_cell_without_value_must_be_blank():
    with pytest.raises(PuzzleError, match="no value"):
        Puzzle.make([Equation(ACROSS, 0, 0, "+")], {(0, 0): 1, (0, 2): 2})


def test_grid_shows_blanks_or_solution():
    p = generate("easy", seed=2)
    r, c = p.blanks[0]
    assert p.grid()[r][c] == "?"
    assert p.grid(solved=True)[r][c] == str(p.values[(r, c)])
