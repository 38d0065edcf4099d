"""Which puzzle is item i of a split, and the leak check that keeps train and test apart."""

from __future__ import annotations

import hashlib

from crossmath.dataset.settings import REDRAW_STRIDE, SPLIT_BASE, BuildSettings
from crossmath.errors import SettingsError
from crossmath.puzzles.generator import generate
from crossmath.puzzles.model import Puzzle

MAX_REDRAWS = 20


def leak_key(puzzle: Puzzle) -> str:
    """Identifies a puzzle up to which cells are blank: its layout with every number filled in."""
    grid = "\n".join("|".join(row) for row in puzzle.grid(solved=True))
    return hashlib.sha256(grid.encode()).hexdigest()[:24]


def keys_of_test_split(settings: BuildSettings) -> frozenset[str]:
    """The leak keys of every test puzzle."""
    return frozenset(leak_key(puzzle_at(settings, "test", i, frozenset())[0]) for i in range(settings.test_size))


def puzzle_at(settings: BuildSettings, split: str, position: int, forbidden: frozenset[str]) -> tuple[Puzzle, int]:
    """Item ``position`` of a split and how many redraws it took to differ from every test puzzle.

    The puzzle depends only on the settings and the position, so any slice of a split can be built anywhere.
    """
    difficulty = settings.difficulty(split, position)
    index = SPLIT_BASE[split] + position
    for redraws in range(MAX_REDRAWS):
        puzzle = generate(difficulty, seed=settings.seed, index=index + redraws * REDRAW_STRIDE,
                          profile=settings.profile(split))
        if not forbidden or leak_key(puzzle) not in forbidden:
            return puzzle, redraws
    raise SettingsError(f"{split} item {position} equals a test puzzle in {MAX_REDRAWS} draws: these settings "
                        "allow too few distinct puzzles; widen them or shrink the splits")  # pragma: no cover
