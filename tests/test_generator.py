"""The generator: every puzzle obeys the rules, is solved by the rounds, is unique, and matches its preset."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from digest import series_digest
from independent import count_solutions

from crossmath import Puzzle, generate, solve
from crossmath.puzzles import PRESETS, GenerationError
from crossmath.puzzles.arith import DIVIDE, TIMES, evaluate
from crossmath.puzzles.generator import equation_capacity

ROOT = Path(__file__).resolve().parents[1]


def layout_violations(p: Puzzle) -> list[str]:
    """The layout rules of DESIGN.md, checked from the text grid alone."""
    grid = p.grid()
    problems = []
    if p.rows % 2 == 0 or p.cols % 2 == 0:
        problems.append("even grid size")
    if not any(grid[0]) or not any(grid[-1]) or not any(r[0] for r in grid) or not any(r[-1] for r in grid):
        problems.append("not tight")
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            if r % 2 and c % 2 and text:
                problems.append(f"odd-odd cell {r},{c} filled")
            if ((text and text[-1].isdigit()) or text == "?") and (r % 2 or c % 2):
                problems.append(f"number off the lattice at {r},{c}")
    # every maximal run of filled cells (length > 1) is exactly one equation
    for lines in (grid, [list(col) for col in zip(*grid)]):
        for line in lines:
            run = 0
            for text in [*line, ""]:
                if text:
                    run += 1
                else:
                    if run > 1 and run != 5:
                        problems.append(f"run of {run} cells")
                    run = 0
    return problems


def check_profile(p: Puzzle, difficulty: str) -> None:
    blank = set(p.blanks)
    per_equation = [sum(cell in blank for cell in eq.cells) for eq in p.equations]
    depth = max(p.steps.values())
    assert 5 <= len(p.equations) <= 15
    assert p.rows <= 17 and p.cols <= 21
    assert p.info.number_range is not None
    lo, hi = p.info.number_range
    assert all(v is not None and lo <= v <= hi for _, v in p.numbers)
    if difficulty == "easy":
        assert max(per_equation) <= 1 and depth == 1
    elif difficulty == "medium":
        assert min(per_equation) >= 1 and max(per_equation) <= 2 and 2 <= depth <= 5
    else:
        assert len(p.blanks) == len(p.equations) and 2 <= depth <= 7


def check_arithmetic(p: Puzzle) -> None:
    values = p.values
    texts = set()
    for eq in p.equations:
        a, b, c = (values[cell] for cell in eq.cells)
        assert a is not None and b is not None and c is not None, "a generated puzzle has its solution"
        assert evaluate(eq.op, a, b) == c, eq.text(values)
        if eq.op in (TIMES, DIVIDE):
            assert b >= 2 and (eq.op == DIVIDE or a >= 2), f"trivial {eq.text(values)}"
        key = (eq.op, *sorted((a, b)), c) if eq.op in ("+", TIMES) else (eq.op, a, b, c)
        assert key not in texts, f"duplicate equation {eq.text(values)}"
        texts.add(key)


@pytest.mark.parametrize("difficulty", sorted(PRESETS))
def test_ten_thousand_puzzles_have_no_defect(difficulty):
    """Across the three presets, 10,002 puzzles over many seeds: rules, profile, and an independent count of 1."""
    for i in range(3334):
        p = generate(difficulty, seed=i % 7, index=i)
        assert not layout_violations(p), (difficulty, i, layout_violations(p))
        check_profile(p, difficulty)
        check_arithmetic(p)
        assert p.info.number_range is not None
        assert count_solutions(p.grid(), *p.info.number_range) == 1, (difficulty, i)


@pytest.mark.parametrize("difficulty", sorted(PRESETS))
def test_every_puzzle_is_solved_by_rounds_and_proven_unique(difficulty):
    for i in range(150):
        p = generate(difficulty, seed=11, index=i)
        s = solve(p)
        assert s.complete and s.unique is True and s.second is None
        assert s.answer == p.answer
        assert set(s.steps) == set(p.blanks)


def test_presets_reproduce_the_published_profile_on_average():
    ratios: dict[str, list[float]] = {d: [] for d in PRESETS}
    for d in PRESETS:
        for i in range(200):
            p = generate(d, seed=3, index=i)
            ratios[d].append(len(p.blanks) / len(p.equations))
    mean = {d: sum(v) / len(v) for d, v in ratios.items()}
    assert mean["easy"] == pytest.approx(0.67, abs=0.04)
    assert mean["medium"] == pytest.approx(0.82, abs=0.04)
    assert mean["hard"] == 1


def test_deepest_steps_cover_the_preset_ranges():
    depths = {d: {max(generate(d, seed=4, index=i).steps.values()) for i in range(300)} for d in ("medium", "hard")}
    assert depths["medium"] == {2, 3, 4, 5}
    assert depths["hard"] == {2, 3, 4, 5, 6, 7}


def test_controls_are_obeyed():
    p = generate("medium", seed=1, equations=8, blanks=7, depth=3, operators="+-", number_range=(10, 60),
                 max_rows=11, max_cols=11)
    assert len(p.equations) == 8 and len(p.blanks) == 7 and max(p.steps.values()) == 3
    assert {eq.op for eq in p.equations} <= {"+", "-"}
    assert all(v is not None and 10 <= v <= 60 for _, v in p.numbers)
    assert p.rows <= 11 and p.cols <= 11
    assert p.info.operators == "+-" and p.info.number_range == (10, 60)
    only_times = generate("hard", seed=2, equations=(5, 6), operators="*")
    assert {eq.op for eq in only_times.equations} == {TIMES}


@pytest.mark.parametrize("kwargs, message", [
    (dict(difficulty="hard", equations=40, max_rows=5, max_cols=5), "cannot fit"),
    (dict(difficulty="hard", equations=1), "cannot reach step 2"),
    (dict(difficulty="medium", equations=5, blanks=9), "at least 9 equations"),
    (dict(difficulty="easy", depth=3), "depth must be 1"),
    (dict(difficulty="extreme"), "unknown difficulty"),
    (dict(difficulty="medium", operators="+^"), "unknown operator"),
    (dict(difficulty="medium", number_range=(0, 50)), "zeros"),
    (dict(difficulty="hard", blanks=4), "one blank per equation"),
    (dict(difficulty="medium", max_rows=3, max_cols=3), "cannot hold an equation"),
])
def test_impossible_settings_fail_fast(kwargs, message):
    with pytest.raises(GenerationError, match=message):
        generate(seed=0, **kwargs)


def test_unreachable_settings_give_up_with_a_clear_message():
    # Feasible on paper, but the narrow range leaves too few distinct equations: bounded attempts, then an error.
    with pytest.raises(GenerationError, match="attempts"):
        generate("hard", seed=0, equations=15, operators="*", number_range=(1, 12))


def test_capacity_counts_the_full_lattice():
    assert equation_capacity(5, 5) == 6
    # A full 5x5 lattice closes three loops of equations, which not every draw of numbers can: seed 3 can.
    assert generate("easy", seed=3, equations=6, max_rows=5, max_cols=5).rows == 5


def test_same_arguments_give_the_same_puzzle():
    assert generate("hard", seed=9, index=4) == generate("hard", seed=9, index=4)
    assert generate("hard", seed=9, index=4).to_dict() == generate("hard", seed=9, index=4).to_dict()
    assert generate("hard", seed=9, index=4) != generate("hard", seed=9, index=5)
    assert generate("hard", seed=9, index=4) != generate("hard", seed=10, index=4)


def test_item_i_depends_only_on_seed_and_index():
    forward = [generate("medium", seed=5, index=i) for i in range(6)]
    backward = [generate("medium", seed=5, index=i) for i in reversed(range(6))]
    assert forward == backward[::-1]


GOLDEN_DIGEST = "94436b6e10cf0816e8948d91b53dc8fb07ab74df8755473aed775a997b1bc578"
"""Generator version 3, published profile (the default since issue 13)."""
GOLDEN_COMPACT_DIGEST = "6aa23a84e6cd68e59d0d10d6db87373386745b5843bc702fceb38a98c564b653"
"""Generator version 3, compact profile: the puzzles of generator version 2, labelled ``crossmath .../3 compact``."""


def test_golden_digest_of_a_fixed_series():
    """Bump GENERATOR_VERSION and these digests together whenever generated puzzles change on purpose."""
    assert series_digest() == GOLDEN_DIGEST
    assert series_digest(profile="compact") == GOLDEN_COMPACT_DIGEST


def _other_pythons() -> list[str]:
    """Every other Python 3.10+ on this machine: pyenv's versions and the system's (CI installs Debian's python3)."""
    candidates = [*(Path.home() / ".pyenv" / "versions").glob("*/bin/python3.*"),
                  *Path("/usr/local/bin").glob("python3.*"), *Path("/usr/bin").glob("python3.*")]
    seen, found = {Path(sys.executable).resolve()}, []
    for python in sorted(candidates):
        if re.fullmatch(r"python3\.1\d", python.name) and python.resolve() not in seen:
            seen.add(python.resolve())
            found.append(str(python))
    return found


def _digest_in(python: str) -> str:
    out = subprocess.run([python, str(Path(__file__).with_name("digest.py"))], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, (python, out.stderr[-500:])
    return out.stdout.strip()


def test_same_digest_in_a_fresh_process():
    assert _digest_in(sys.executable) == GOLDEN_DIGEST


NO_OTHER_PYTHON = pytest.param(None, marks=pytest.mark.skip(
    reason="no other Python 3.10+ installed (pyenv, /usr/local/bin, /usr/bin): the digest was checked on this "
           "interpreter only"))


@pytest.mark.parametrize("python", _other_pythons() or [NO_OTHER_PYTHON])
def test_same_digest_in_other_pythons(python):
    """Determinism across every other Python 3.10+ installed next to this one; says so when there is none."""
    assert _digest_in(python) == GOLDEN_DIGEST
