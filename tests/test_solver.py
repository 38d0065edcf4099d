"""The solver/verifier on puzzles that did not come from the generator."""

from __future__ import annotations

import pytest
from independent import count_solutions

from crossmath import Puzzle, solve
from crossmath.puzzles.solver import Contradiction
from crossmath.puzzles.text import from_markdown


def grid(text: str) -> Puzzle:
    return from_markdown(text, solve=False)


# Rounds stall (each equation has two unknowns), yet only a=2 works: a-1 must stay positive and a+b=3.
STALLS_BUT_UNIQUE = "\n".join([
    "| ? | + | ? | = | 3 |",
    "| - |   |   |   |   |",
    "| 1 |   |   |   |   |",
    "| = |   |   |   |   |",
    "| ? |   |   |   |   |",
])


def test_search_proves_uniqueness_where_rounds_stall():
    s = solve(grid(STALLS_BUT_UNIQUE))
    assert not s.complete and s.steps == {}
    assert s.unique is True and s.answer == "2 1 1"
    assert count_solutions(grid(STALLS_BUT_UNIQUE).grid(), 1, 250) == 1


def test_several_solutions_are_reported_with_a_second_one():
    s = solve(grid("| ? | + | ? | = | 4 |"))
    assert s.unique is False
    assert s.second is not None and s.second != s.values
    first, second = (sum(v.values()) for v in (s.values, s.second))
    assert first == second == 4


@pytest.mark.parametrize("text, message", [
    ("| 7 | ÷ | 2 | = | ? |", "no valid value"),          # non-integer result
    ("| 3 | - | 5 | = | ? |", "no valid value"),          # negative result
    ("| 4 | - | 4 | = | ? |", "no valid value"),          # zero
    ("| 2 | + | 2 | = | 5 |", "is false"),                # givens contradict
    ("| ? | × | 0 | = | 5 |", "no valid value"),
])
def test_contradictions_raise(text, message):
    with pytest.raises(Contradiction, match=message):
        solve(grid(text))


def test_two_equations_disagreeing_on_a_blank_is_a_contradiction():
    text = "\n".join([
        "| 2 | + | 3 | = | ? |",
        "|   |   |   |   | - |",
        "|   |   |   |   | 1 |",
        "|   |   |   |   | = |",
        "|   |   |   |   | 5 |",
    ])
    with pytest.raises(Contradiction):
        solve(grid(text))


def test_search_without_any_solution_raises():
    # Rounds stall; no a in range makes both a+b=3 and a-3=? positive.
    text = STALLS_BUT_UNIQUE.replace("| 1 |", "| 3 |")
    with pytest.raises(Contradiction, match="no solution"):
        solve(grid(text))


def test_zero_may_be_allowed_explicitly():
    assert solve(grid("| 4 | - | 4 | = | ? |"), minimum=0).answer == "0"


def test_search_budget_leaves_uniqueness_undecided():
    s = solve(grid(STALLS_BUT_UNIQUE), max_nodes=2)
    assert s.unique is None


def test_solution_ignores_values_a_puzzle_carries_for_its_blanks():
    p = from_markdown("| 2 | + | ? | = | 5 |")
    wrong = Puzzle(p.rows, p.cols, p.equations, tuple((c, 9 if c == (0, 2) else v) for c, v in p.numbers), p.blanks)
    assert solve(wrong).answer == "3"
