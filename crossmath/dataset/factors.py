"""Controlled variants: the factors a build can vary, their levels, and the configs a sweep makes.

A factor is of one of three kinds, which decides what stays the same across its levels:

- **image** (any :class:`Style` field, or a perturbation of :mod:`crossmath.render.perturb`): the same puzzles,
  ids, text columns and answers in every config; only the image differs.
- **blanks** (``depth``, ``blanks``): the same solved grid (layout and numbers) in every config; the blank set is
  chosen anew for the level (:func:`crossmath.puzzles.generator.reblank`).
- **grid** (``operators``, ``range``, ``equations``, ``max_rows``, ``max_cols``): each level draws its own puzzles
  with that generator setting; levels are not paired.

Each config is a base style plus one level of every varied factor (all combinations, or with ``one_at_a_time``
each factor alone away from the base); its name reads like ``original-font_size-18``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from PIL import Image

from crossmath.errors import SettingsError
from crossmath.puzzles.model import Puzzle
from crossmath.render import encode_png, perturb, png_bytes, render
from crossmath.render.styles import Style

STYLE_FACTORS = tuple(f.name for f in fields(Style) if f.name != "name")
BLANK_FACTORS = ("depth", "blanks")
GRID_FACTORS = {"operators": "operators", "range": "number_range", "equations": "equations",
                "max_rows": "max_rows", "max_cols": "max_cols"}
"""Grid factors and the :func:`generate` argument each sets."""
INT_STYLE_FIELDS = ("border_width", "font_size", "cell_size", "margin")
MAX_CONFIGS = 1000
"""The most configs one build may have: a larger sweep is almost surely a typo, and would run for days."""


def kind(name: str) -> str:
    """``image``, ``blanks`` or ``grid``; raises for an unknown factor."""
    if name in STYLE_FACTORS or name in perturb.NEUTRAL:
        return "image"
    if name in BLANK_FACTORS:
        return "blanks"
    if name in GRID_FACTORS:
        return "grid"
    known = [*STYLE_FACTORS, *perturb.NEUTRAL, *BLANK_FACTORS, *GRID_FACTORS]
    raise SettingsError(f"unknown factor {name!r}; choose one of {', '.join(known)}")


def parse_span(text: str) -> list[int] | int:
    """``N`` as a number, ``MIN-MAX`` as a pair; raises ValueError for anything else."""
    parts = text.split("-", 1) if not text.startswith("-") else [text]
    values = [int(part) for part in parts]
    return values[0] if len(values) == 1 else values


def parse_level(name: str, text: str) -> Any:
    """One level of a factor given as text on the command line (``18``, ``1-20``, ``+-``, ``none``)."""
    kind(name)
    text = text.strip()
    try:
        if name in perturb.NEUTRAL:
            return None if text.lower() == "none" else float(text) if "." in text else int(text)
        if name in INT_STYLE_FIELDS or name in ("depth", "blanks", "max_rows", "max_cols"):
            return int(text)
        if name in ("equations", "range"):
            return parse_span(text)
    except ValueError:
        raise SettingsError(f"{name}: {text!r} is not a level of this factor") from None
    return None if text.lower() == "none" and name in ("border_color", "answer_color") else text


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``FACTOR=L1,L2,...`` as the factor's name and its levels."""
    name, sep, levels = text.partition("=")
    if not sep or not levels.strip():
        raise SettingsError(f"--vary takes FACTOR=L1,L2,... such as font_size=18,30; got {text!r}")
    return name.strip(), [parse_level(name.strip(), part) for part in levels.split(",") if part.strip()]


def check_levels(name: str, levels: list[Any]) -> None:
    """Refuse an empty factor, repeated levels, and levels the factor cannot take."""
    kind(name)
    if not levels:
        raise SettingsError(f"factor {name} has no levels")
    if len({repr(level) for level in levels}) != len(levels):
        raise SettingsError(f"factor {name} repeats a level: {levels}")
    for level in levels:
        if name in perturb.NEUTRAL:
            perturb.check(name, level)
        elif name in BLANK_FACTORS and not (isinstance(level, int) and level >= 1):
            raise SettingsError(f"{name} levels are whole numbers of 1 or more, not {level!r}")


OPERATOR_WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "div"}


def level_name(level: Any) -> str:
    """A level as it appears in a config name (letters, digits, ``.``, ``_``, ``-``): ``+-`` is ``plus_minus``,
    ``[1, 20]`` is ``1_20``, ``-5`` is ``neg5``, ``#F9F4E8`` is ``F9F4E8``."""
    if level is None:
        return "none"
    if isinstance(level, (list, tuple)):
        return "_".join(map(level_name, level))
    if isinstance(level, (int, float)):
        return f"neg{-level}" if level < 0 else str(level)
    if level and set(level) <= set(OPERATOR_WORDS):
        return "_".join(OPERATOR_WORDS[op] for op in level)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", level).strip("_-") or "x"


@dataclass(frozen=True)
class Config:
    """One config of a build: a style, perturbations, puzzle overrides, and the level of every varied factor."""

    name: str
    style: Style
    """The style drawn with (named like the config)."""
    perturbations: dict[str, Any]
    grid: dict[str, Any]
    """:func:`generate` arguments that this config's puzzles are drawn with, beyond the build's own."""
    blanking: dict[str, int]
    """``depth`` and/or ``blanks`` levels the blank set is chosen for; empty keeps the drawn blanks."""
    levels: dict[str, Any]
    """Every varied factor's level in this config (the ``factor_*`` columns)."""
    conflict_of: str | None = None
    """For a conflict config (:mod:`crossmath.dataset.conflict`), the plain config whose puzzles its image shows."""

    @property
    def grid_key(self) -> str:
        """Configs with the same key hold the same grids (their grid factors agree)."""
        return repr(sorted(self.grid.items()))


def draw(puzzle: Puzzle, config: Config, *, seed: int, key: str, solved: bool = False) -> Image.Image:
    """The puzzle as this config shows it: drawn in its style, then perturbed (noise seeded by ``seed``, ``key``)."""
    image = render(puzzle, config.style, solved=solved)
    return perturb.apply(image, config.perturbations, background=config.style.background, seed=seed, key=key)


def png(puzzle: Puzzle, config: Config, *, seed: int, key: str, solved: bool = False) -> bytes:
    """:func:`draw` as PNG bytes (the renderer's palette PNG when nothing is perturbed)."""
    if perturb.is_neutral(config.perturbations):
        return png_bytes(puzzle, config.style, solved=solved)
    return encode_png(draw(puzzle, config, seed=seed, key=key, solved=solved), perturb.PNG_COMPRESS_LEVEL)


def base_level(name: str, style: Style) -> Any:
    """A factor's level when it is not varied: the base style's value, the neutral perturbation, or None (the
    preset) for puzzle factors."""
    if name in STYLE_FACTORS:
        return getattr(style, name)
    return perturb.NEUTRAL.get(name)


def _config(style: Style, levels: Mapping[str, Any], named: list[str]) -> Config:
    name = "-".join([style.name, *(f"{factor}-{level_name(levels[factor])}" for factor in named)])
    style_changes = {factor: level for factor, level in levels.items() if factor in STYLE_FACTORS}
    try:
        drawn = replace(style, name=name, **style_changes)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"config {name}: {exc}") from None
    return Config(
        name, drawn,
        {factor: level for factor, level in levels.items() if factor in perturb.NEUTRAL},
        {GRID_FACTORS[factor]: level for factor, level in levels.items()
         if factor in GRID_FACTORS and level is not None},
        {factor: level for factor, level in levels.items() if factor in BLANK_FACTORS and level is not None},
        dict(levels))


def plan_configs(styles: tuple[Style, ...], vary: Mapping[str, list[Any]], one_at_a_time: bool) -> list[Config]:
    """Every config of a build, in a fixed order: base styles outer, factors in the order given."""
    if not vary:
        return [Config(style.name, style, {}, {}, {}, {}) for style in styles]
    names = list(vary)
    per_style = 1 + sum(map(len, vary.values())) if one_at_a_time else math.prod(map(len, vary.values()))
    if len(styles) * per_style > MAX_CONFIGS:
        raise SettingsError(f"{len(styles) * per_style} configs ({len(styles)} styles x {per_style} per style) is "
                            f"more than {MAX_CONFIGS}; vary fewer factors or levels, or use --one-at-a-time")
    configs = []
    for style in styles:
        base = {name: base_level(name, style) for name in names}
        if one_at_a_time:
            configs.append(_config(style, base, []))
            for name in names:
                for level in vary[name]:
                    if level != base[name]:
                        configs.append(_config(style, {**base, name: level}, [name]))
        else:
            for combination in itertools.product(*(vary[name] for name in names)):
                configs.append(_config(style, dict(zip(names, combination)), names))
    seen: set[str] = set()
    for config in configs:
        if config.name in seen:
            raise SettingsError(f"two configs would both be named {config.name}; give the styles other names")
        seen.add(config.name)
    return configs


def column_type(levels: list[Any]) -> str:
    """The Arrow-friendly type of a factor column: ``int64``, ``float64``, ``int_list`` or ``string``."""
    known = [level for level in levels if level is not None]
    if known and all(isinstance(level, int) and not isinstance(level, bool) for level in known):
        return "int64"
    if known and all(isinstance(level, (int, float)) for level in known):
        return "float64"
    if known and all(isinstance(level, list) for level in known):
        return "int_list"
    return "string"


def column_value(level: Any, column: str) -> Any:
    """A level as its column stores it (spans as lists, whole numbers as floats in a float column)."""
    if level is None:
        return None
    if column == "float64":
        return float(level)
    if column == "int_list":
        return list(level) if isinstance(level, (list, tuple)) else [level, level]
    if column == "string":
        return level if isinstance(level, str) else str(level)
    return level


def pairing(vary: Mapping[str, list[Any]]) -> str:
    """What stays the same across the configs of a sweep, in one sentence for the card."""
    kinds = {kind(name) for name in vary}
    if not vary or kinds == {"image"}:
        return ("Every config holds the same puzzles: the same ids, text columns and answers; only the image "
                "differs.")
    if "grid" not in kinds:
        return ("Every config holds the same solved grids (layout and numbers) under the same ids; the depth/"
                "blanks levels choose a different blank set on that grid, so text columns and answers differ "
                "with the level while `solutions` stays the same. A grid that could not reach every level was "
                "replaced by one that could, in every config alike.")
    grid = ", ".join(name for name in vary if kind(name) == "grid")
    return (f"The levels of {grid} draw their own puzzles (same ids, different grids): these configs are not "
            "paired, and a comparison across them compares different puzzles. Configs that differ only in image "
            "or depth/blanks factors hold the same grids.")
