"""Experiment files: a whole build (sizes, seed, mix, puzzle settings, base styles, factors) in one TOML file.

The keys are the ``crossmath-build`` options (``test_size``, ``styles``, ``one_at_a_time``, ...); a ``[puzzle]``
table holds generator settings for every puzzle, ``[puzzle.hard]`` (etc.) for one difficulty, and ``[vary]`` maps
each factor to its list of levels. Options given on the command line override the file. The file is kept
verbatim in the build (``experiment.toml``, and the dataset card).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossmath._cli import comma_list, non_negative_int, percent
from crossmath._toml import read_toml
from crossmath.dataset.factors import kind, pairing, parse_level, parse_span
from crossmath.dataset.settings import DIFFICULTIES, BuildSettings
from crossmath.errors import SettingsError
from crossmath.render.perturb import DOCS as PERTURBATION_DOCS
from crossmath.schema import FACTOR_PREFIX

EXPERIMENT_FILE = "experiment.toml"
PUZZLE_KEYS = {"equations": "equations", "max_rows": "max_rows", "max_cols": "max_cols", "operators": "operators",
               "range": "number_range", "blanks": "blanks", "depth": "depth"}
"""Puzzle settings as options and file keys, and the :func:`generate` argument each sets."""


def parse_mix(text: str) -> tuple[int, int, int]:
    """``90,85,75`` or ``easy=90,medium=85,hard=75``."""
    parts = comma_list(text)
    named = {name.strip(): value for name, value in (part.split("=", 1) for part in parts if "=" in part)}
    values = [named.get(d, "0") for d in DIFFICULTIES] if named and set(named) <= set(DIFFICULTIES) else parts
    if len(values) != 3 or len(named) not in (0, len(parts)) or not all(v.strip().isdigit() for v in values):
        raise SettingsError(f"expected easy,medium,hard weights such as 90,85,75, got {text!r}")
    return int(values[0]), int(values[1]), int(values[2])


OPTIONS: dict[str, Callable[[str], Any] | None] = {
    "train_size": non_negative_int, "test_size": non_negative_int, "train_mix": parse_mix, "test_mix": parse_mix,
    "seed": int, "styles": comma_list, "text_formats": comma_list, "solved_images": None, "format": comma_list,
    "one_at_a_time": None, "check_legibility": None, "min_legibility": percent}
"""Top-level keys of an experiment file and how the command line reads each option's value (None: a switch, true
or false); the file's value, written as the option's text, is read the same way."""


def _as_text(value: Any, joiner: str) -> str | None:
    """A TOML value as the text an option would be given: a number or text as it is, a list of them joined (a
    ``MIN-MAX`` span by ``-``, a list of names by ``,``); None for anything else (true/false, a date, a table)."""
    def scalar(item: Any) -> bool:
        return isinstance(item, (str, int, float)) and not isinstance(item, bool)

    if scalar(value):
        return str(value)
    if isinstance(value, list) and value and all(map(scalar, value)):
        return joiner.join(map(str, value))
    return None


def parse_puzzle_value(key: str, text: str) -> tuple[str | None, str, Any]:
    """``[DIFFICULTY:]VALUE`` of a puzzle setting option as (difficulty or None, generate argument, value)."""
    difficulty, sep, value = text.partition(":")
    if not sep:
        difficulty, value = "", text
    if difficulty and difficulty not in DIFFICULTIES:
        raise SettingsError(f"unknown difficulty {difficulty!r} in {text!r} (use {'/'.join(DIFFICULTIES)}:VALUE)")
    return difficulty or None, PUZZLE_KEYS[key], _puzzle_value(key, value)


def _puzzle_value(key: str, value: str) -> Any:
    if key == "operators":
        return value
    try:
        return int(value) if key in ("max_rows", "max_cols", "blanks") else parse_span(value)
    except ValueError:
        raise SettingsError(f"{key}: expected a number or MIN-MAX, got {value!r}") from None


def load_experiment(path: str | Path) -> tuple[dict[str, Any], str]:
    """An experiment file as ``crossmath-build`` option defaults (argparse ``dest`` names), and its text."""
    path = Path(path)
    data, text = read_toml(path, "experiment file")
    defaults: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("puzzle", "vary"):
            continue
        if key not in OPTIONS:
            raise SettingsError(f"{path}: unknown key {key!r} (known: {', '.join([*OPTIONS, 'puzzle', 'vary'])})")
        defaults["outputs" if key == "format" else key] = _option_value(path, key, value)
    defaults["puzzle_settings"] = _puzzle_table(path, _table(path, "puzzle", data.get("puzzle", {})))
    defaults["vary"] = [(name, _levels(path, name, levels))
                        for name, levels in _table(path, "vary", data.get("vary", {})).items()]
    return defaults, text


def _option_value(path: Path, key: str, value: Any) -> Any:
    """A top-level value read as the command line reads its option (same rules, same limits)."""
    parse = OPTIONS[key]
    if parse is None:
        if not isinstance(value, bool):
            raise SettingsError(f"{path}: {key} must be true or false, not {value!r}")
        return value
    text = _as_text(value, ",")
    if text is None:
        raise SettingsError(f"{path}: {key} must be a number, text or a list of them, not {value!r}")
    try:
        return parse(text)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise SettingsError(f"{path}: {key}: {exc}") from None


def _table(path: Path, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: {key} must be a table ([{key}]), not {value!r}")
    return value


def _levels(path: Path, name: str, levels: Any) -> list[Any]:
    """A factor's levels read as ``--vary NAME=L1,L2`` reads them (a ``range`` level may be a [min, max] list)."""
    kind(name)
    texts = [_as_text(level, "-") for level in levels] if isinstance(levels, list) else [None]
    if None in texts:
        raise SettingsError(f"{path}: [vary] {name} must be a list of levels (numbers or text), not {levels!r}")
    return [parse_level(name, text) for text in texts if text is not None]


def _puzzle_table(path: Path, table: dict[str, Any]) -> list[tuple[str | None, str, Any]]:
    found: list[tuple[str | None, str, Any]] = []
    for key, value in table.items():
        if key in DIFFICULTIES and isinstance(value, dict):
            found += [(key, *entry[1:]) for entry in _puzzle_table(path, value)]
        elif key in PUZZLE_KEYS:
            text = _as_text(value, "-")
            if text is None:
                raise SettingsError(f"{path}: [puzzle] {key} must be a number, MIN-MAX text or a [min, max] list, "
                                    f"not {value!r}")
            found.append((None, PUZZLE_KEYS[key], _puzzle_value(key, text)))
        else:
            raise SettingsError(f"{path}: unknown puzzle setting {key!r} (known: {', '.join(PUZZLE_KEYS)}, or a "
                                "table per difficulty)")
    return found


def _shown(name: str, level: Any) -> str:
    """A level in the card's table; a puzzle factor left unset is the preset."""
    return "preset" if level is None and kind(name) != "image" else str(level).lower() if level is None else str(level)


def experiment_section(settings: BuildSettings, summary: dict[str, Any]) -> list[str]:
    """The dataset card's section on puzzle settings, varied factors and the experiment file (empty when the
    build has none of them)."""
    lines: list[str] = []
    if settings.puzzle or settings.puzzle_by_difficulty:
        lines += ["## Puzzle settings", "",
                  "Generator settings over the difficulty presets (not given: the preset's):", ""]
        lines += [f"- every difficulty: `{key}` = `{value}`" for key, value in settings.puzzle.items()]
        lines += [f"- {difficulty}: `{key}` = `{value}`"
                  for difficulty, table in settings.puzzle_by_difficulty.items() for key, value in table.items()]
        lines.append("")
    if settings.vary:
        names = list(settings.vary)
        lines += ["## Factors", "",
                  f"{'One factor at a time from the base' if settings.one_at_a_time else 'Every combination'} of: "
                  + "; ".join(f"`{name}` ({kind(name)}) = {', '.join(map(str, levels))}"
                              for name, levels in settings.vary.items())
                  + f". Each row carries its levels in the columns {', '.join(f'`{FACTOR_PREFIX}{n}`' for n in names)}."
                  f" {pairing(settings.vary)}", ""]
        perturbations = [f"- `{name}`: {PERTURBATION_DOCS[name]}" for name in names if name in PERTURBATION_DOCS]
        if perturbations:
            lines += [*perturbations, "- perturbations are applied after drawing, deterministically (noise seeded by "
                      "the build seed and the puzzle id), in the order rotate, blur, downscale, contrast, "
                      "gaussian_noise, jpeg_quality.", ""]
        lines += ["| config | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [f"| `{config.name}` | " + " | ".join(_shown(n, config.levels[n]) for n in names) + " |"
                  for config in settings.configs]
        lines.append("")
    if settings.experiment:
        lines += ["## Experiment file", "", f"The build was made from this file (also kept as `{EXPERIMENT_FILE}`):",
                  "", "```toml", settings.experiment.rstrip("\n"), "```", ""]
    return lines
