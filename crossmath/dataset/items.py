"""Which puzzle is item i of a split in each config, and the leak check that keeps train and test apart."""

from __future__ import annotations

import hashlib

from crossmath.dataset.factors import Config
from crossmath.dataset.settings import REDRAW_STRIDE, SPLIT_BASE, BuildSettings
from crossmath.errors import SettingsError
from crossmath.puzzles.generator import generate, reblank
from crossmath.puzzles.model import Puzzle

MAX_REDRAWS = 50


def leak_key(puzzle: Puzzle) -> str:
    """Identifies a puzzle up to which cells are blank: its layout with every number filled in."""
    grid = "\n".join("|".join(row) for row in puzzle.grid_rows(solved=True))
    return hashlib.sha256(grid.encode()).hexdigest()[:24]


def keys_of_test_split(settings: BuildSettings) -> frozenset[str]:
    """The leak keys of every test puzzle in every config."""
    return frozenset(leak_key(puzzle) for i in range(settings.test_size)
                     for puzzle in item_puzzles(settings, "test", i, frozenset())[0].values())


def _grid_groups(configs: list[Config]) -> list[list[Config]]:
    """Configs grouped by the grids they hold (the same grid factor levels), in config order."""
    groups: dict[str, list[Config]] = {}
    for config in configs:
        groups.setdefault(config.grid_key, []).append(config)
    return list(groups.values())


def item_puzzles(settings: BuildSettings, split: str, position: int,
                 forbidden: frozenset[str]) -> tuple[dict[str, Puzzle], int]:
    """Item ``position`` of a split in every config (by config name), and how many draws were replaced because
    they equalled a test puzzle.

    Configs with the same grid factor levels share one drawn grid; a depth or blanks level re-blanks that grid.
    A grid that equals a test puzzle, or cannot reach every requested depth/blanks level, is replaced by the
    draw at its index plus a fixed stride, the same for every config. The puzzles depend only on the settings
    and the position, so any slice of a split can be built anywhere.
    """
    difficulty = settings.difficulty(split, position)
    index = SPLIT_BASE[split] + position
    puzzles: dict[str, Puzzle] = {}
    leaked = 0
    for configs in _grid_groups(settings.configs):
        kwargs = settings.generation(difficulty, configs[0])
        levels = {repr(sorted(c.blanking.items())): c.blanking for c in configs if c.blanking}
        for redraws in range(MAX_REDRAWS):
            puzzle = generate(difficulty, seed=settings.seed, index=index + redraws * REDRAW_STRIDE,
                              profile=settings.profile(split), **kwargs)
            if forbidden and leak_key(puzzle) in forbidden:
                leaked += 1
                continue
            variants = {key: reblank(puzzle, seed=settings.seed, index=puzzle.info.index, **level)
                        for key, level in levels.items()}
            if all(variant is not None for variant in variants.values()):
                break
        else:
            raise SettingsError(f"{split} item {position}: no {difficulty} grid in {MAX_REDRAWS} draws reaches "
                                 f"every level of {', '.join(sorted({k for c in configs for k in c.blanking}))}; "
                                 "lower the depth/blanks levels or allow more equations")
        for config in configs:
            variant = variants[repr(sorted(config.blanking.items()))] if config.blanking else puzzle
            assert variant is not None  # every level was reached above
            puzzles[config.name] = variant
    return puzzles, leaked


def puzzle_at(settings: BuildSettings, split: str, position: int, forbidden: frozenset[str]) -> tuple[Puzzle, int]:
    """Item ``position`` of a split in the first config, and how many draws were replaced to avoid test puzzles."""
    puzzles, leaked = item_puzzles(settings, split, position, forbidden)
    return puzzles[settings.configs[0].name], leaked
