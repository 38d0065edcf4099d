"""A reward-driven curriculum over one puzzle factor: the stream serves level k until the policy's mean reward over
the last window of groups passes a threshold, then level k + 1 (and back down below a lower threshold, if set).

Level k of factor F is the stream of the build settings with F at its k-th level, so item i at level k is train row i
of a build with those settings; the position goes on across levels, so an id is never served twice.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from pathlib import Path
from typing import Any

import datasets

from crossmath.dataset.factors import BLANK_FACTORS, GRID_FACTORS, check_levels, level_name, parse_level
from crossmath.dataset.heldout import held_out_keys
from crossmath.dataset.items import keys_of_test_split
from crossmath.dataset.settings import DIFFICULTIES, BuildSettings
from crossmath.dataset.streaming import StreamRows, check_stream_options, settings_for, stream_of
from crossmath.errors import CrossmathError, SettingsError
from crossmath.puzzles.generator import check_settings

FACTORS = ("difficulty", *BLANK_FACTORS, *GRID_FACTORS)
"""The puzzle factors a curriculum can step through: the difficulty preset, the blank-set factors and the grid
factors a build can vary (``range`` is the number range, ``max_rows``/``max_cols`` the grid size)."""


def parse_curriculum(text: str) -> tuple[str, list[Any]]:
    """``FACTOR=L1,L2,...`` as the factor and its levels, easiest first."""
    name, sep, levels = text.partition("=")
    name = name.strip()
    if name not in FACTORS:
        raise SettingsError(f"unknown curriculum factor {name!r}; choose one of {', '.join(FACTORS)}")
    if not sep or not levels.strip():
        raise SettingsError(f"--curriculum takes FACTOR=L1,L2,... such as depth=1,2,3; got {text!r}")
    parts = [part.strip() for part in levels.split(",") if part.strip()]
    if name == "difficulty":
        unknown = [part for part in parts if part not in DIFFICULTIES]
        if unknown:
            raise SettingsError(f"difficulty levels are {', '.join(DIFFICULTIES)}; got {', '.join(unknown)}")
        if len(set(parts)) != len(parts):
            raise SettingsError(f"factor difficulty repeats a level: {parts}")
        return name, parts
    values = [parse_level(name, part) for part in parts]
    check_levels(name, values)
    return name, values


def level_settings(settings: BuildSettings, factor: str, level: Any) -> BuildSettings:
    """The build settings of one level: a one-difficulty train mix; for ``depth`` and ``blanks`` the build's
    controlled variant of that one level (the drawn grids re-blanked to it, as ``--vary depth=3`` does); for a grid
    factor the generator setting at that level for every difficulty that can make such puzzles, the others dropped
    from the train mix."""
    if factor == "difficulty":
        easy, medium, hard = (int(d == level) for d in DIFFICULTIES)
        return dataclasses.replace(settings, train_mix=(easy, medium, hard))
    if factor in BLANK_FACTORS:
        if settings.vary:
            raise SettingsError(f"a {factor} curriculum streams settings without varied factors; got "
                                f"{', '.join(settings.vary)}")
        return dataclasses.replace(settings, vary={factor: [level]})
    argument = GRID_FACTORS.get(factor, factor)
    by_difficulty = {d: {**settings.puzzle_by_difficulty.get(d, {}), argument: level} for d in DIFFICULTIES}
    accepted = [d for d in DIFFICULTIES if _makes(d, {**settings.puzzle, **by_difficulty[d]})]
    weights = [w if d in accepted else 0 for d, w in zip(DIFFICULTIES, settings.train_mix)]
    if not sum(weights):
        raise SettingsError(f"--curriculum {factor}={level}: no difficulty of the train mix makes such puzzles")
    return dataclasses.replace(settings, train_mix=(weights[0], weights[1], weights[2]),
                               puzzle_by_difficulty={**settings.puzzle_by_difficulty,
                                                     **{d: by_difficulty[d] for d in accepted}})


def _makes(difficulty: str, generation: dict[str, Any]) -> bool:
    try:
        check_settings(difficulty, **generation)
    except CrossmathError:
        return False
    return True


@dataclasses.dataclass
class Curriculum:
    """The level in force, moved by the mean reward of the last ``window`` groups (a group: the completions of one
    prompt). After a move the window starts empty, so each level is judged on its own groups."""

    levels: int
    threshold: float
    window: int
    lower: float | None = None
    level: int = 0
    recent: deque[float] = dataclasses.field(default_factory=deque)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise SettingsError(f"--curriculum-window is a number of groups, 1 or more; got {self.window}")
        for name, value in (("threshold", self.threshold), ("lower", self.lower)):
            if value is not None and not 0 <= value <= 1:  # nan fails both comparisons
                raise SettingsError(f"--curriculum-{name} is a mean reward between 0 and 1; got {value}")
        if self.lower is not None and self.lower >= self.threshold:
            raise SettingsError(f"--curriculum-lower ({self.lower}) must be below --curriculum-threshold "
                                f"({self.threshold})")
        self.recent = deque(self.recent, maxlen=self.window)

    def observe(self, mean: float, groups: int = 1) -> int:
        """Take the mean reward of ``groups`` more groups; return the level now in force."""
        self.recent.extend([mean] * groups)
        if len(self.recent) == self.window:
            average = sum(self.recent) / self.window
            if average >= self.threshold and self.level < self.levels - 1:
                self._move(+1)
            elif self.lower is not None and average < self.lower and self.level > 0:
                self._move(-1)
        return self.level

    def _move(self, step: int) -> None:
        self.level += step
        self.recent.clear()

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps, so a resumed run continues at the same level with the same window."""
        return {"level": self.level, "recent": list(self.recent)}

    def restore(self, state: dict[str, Any]) -> None:
        self.level = min(int(state["level"]), self.levels - 1)
        self.recent = deque(state.get("recent", []), maxlen=self.window)


class CurriculumRows:
    """Row ``position`` of the stream of the level in force. A level's :class:`StreamRows` is made when the
    curriculum first reaches it: its test split, whose puzzles the level never serves, is generated then, not at
    start-up for levels a run may never reach."""

    def __init__(self, levels: list[tuple[BuildSettings, str]], held: frozenset[str], curriculum: Curriculum,
                 images: bool = True) -> None:
        self.levels, self.held, self.curriculum, self.images = levels, held, curriculum, images
        self.made: dict[int, StreamRows] = {}
        self.rows_of(curriculum.level)  # the level it starts at, so a bad setting is refused up front

    def rows_of(self, level: int) -> StreamRows:
        if level not in self.made:
            settings, config = self.levels[level]
            self.made[level] = StreamRows(settings, config, keys_of_test_split(settings) | self.held, self.images)
        return self.made[level]

    def __call__(self, position: int) -> dict[str, Any]:
        return self.rows_of(self.curriculum.level)(position)


def curriculum_stream(style: str, factor: str, levels: list[Any], curriculum: Curriculum, *, seed: int = 0,
                      start: int = 0, exclude: str | Path | None = None, prefetch: int = 0, images: bool = True,
                      **settings: Any) -> datasets.IterableDataset:
    """The stream of :func:`crossmath.dataset.stream` whose rows come from the level ``curriculum`` is at: at level
    k, item i is train row i of a build with ``factor`` at ``levels[k]`` (a row made ahead, with ``prefetch``,
    keeps the level it was made at)."""
    check_stream_options(start, prefetch, images)
    if len(levels) != curriculum.levels:
        raise SettingsError(f"the curriculum has {curriculum.levels} levels, the factor {len(levels)}")
    base = settings_for(seed, settings)
    held = held_out_keys(exclude)
    at = [level_settings(base, factor, level) for level in levels]
    config = (lambda level: f"{style}-{factor}-{level_name(level)}") if factor in BLANK_FACTORS else (lambda _: style)
    rows = CurriculumRows([(s, config(level)) for s, level in zip(at, levels)], held, curriculum, images)
    return stream_of(rows, at[0], start, prefetch)  # every level: the same columns
