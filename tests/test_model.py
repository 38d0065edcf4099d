"""The Puzzle model: immutable, hashable, equal by content, and always a well-formed layout."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from crossmath import Puzzle, PuzzleError, generate, solve
from crossmath.puzzles import model
from crossmath.puzzles.model import ACROSS, DOWN, Equation
from crossmath.puzzles.solver import analyse
from crossmath.puzzles.text import from_markdown


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


def test_the_model_imports_neither_the_solver_nor_the_text_forms():
    """The dependency runs one way: solver, text forms and generator import the model, never the reverse."""
    tree = ast.parse(Path(model.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imported & {"crossmath.puzzles.solver", "crossmath.puzzles.text", "crossmath.puzzles"} == set()
    assert {name for name in imported if name and name.startswith("crossmath")} <= {"crossmath.errors",
                                                                                    "crossmath.puzzles.arith"}


def test_generated_puzzles_carry_the_analysis_that_verified_them():
    p = generate("medium", seed=3)
    assert p.analysis == solve(p) and p.steps == p.analysis.steps
    assert p.with_info(seed=5).analysis is p.analysis  # relabelling keeps it
    bare = dataclasses.replace(p, analysis=None)
    assert bare == p and hash(bare) == hash(p) and "analysis" not in repr(p)  # not part of the content
    assert analyse(bare) == p.analysis


def test_a_puzzle_without_analysis_says_how_to_get_one():
    p = from_markdown("| 2 | + | ? | = | 5 |", solve=False)
    assert p.analysis is None and not p.is_solved
    with pytest.raises(PuzzleError, match="analyse"):
        _ = p.steps
    with pytest.raises(PuzzleError, match="no solution"):
        _ = p.solved_values
    solved = p.with_analysis(analyse(p))
    assert solved.solved_values == (3,) and solved.steps == {(0, 2): 1} and solved.analysis is not None
    assert from_markdown("| 2 | + | ? | = | 5 |").analysis == solved.analysis  # parsing with solve carries it


def test_with_values_fills_only_the_blanks_that_have_none():
    p = from_markdown("| 2 | + | ? | = | 5 |", solve=False)
    assert p.with_values({(0, 2): 3, (0, 0): 7}).values == {(0, 0): 2, (0, 2): 3, (0, 4): 5}
