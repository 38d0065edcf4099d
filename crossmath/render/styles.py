"""Styles: every visual factor of a rendered puzzle as data, the four published presets, and style files.

A :class:`Style` is a frozen dataclass, so a controlled variant is ``dataclasses.replace(STYLES["original"],
font="DejaVuSans")``: it differs from its parent in that factor alone. Making a style checks its colours, its
sizes and that its font has a glyph for everything it will draw.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from PIL import ImageColor

from crossmath.errors import CrossmathError
from crossmath.render.fonts import FontError, missing_glyphs

GLYPHS = "0123456789+-\u00d7\u00f7="
"""Every character a puzzle image may show (digits, the four operators, the equals sign)."""


class StyleError(CrossmathError):
    """A style with an invalid factor, a font that lacks glyphs, or a style file that cannot be read."""


STYLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a style name may be: it names a dataset config, folders and files, so only letters, digits, ``.``, ``-``
and ``_`` (no path separators or spaces), starting with a letter or digit (so never ``.`` or ``..``), at most 64
characters. Factor levels such as ``blur-1.5`` keep their dot."""


def check_style_name(name: object) -> None:
    """Raise StyleError unless ``name`` is a safe style name (see :data:`STYLE_NAME`)."""
    if not isinstance(name, str) or not STYLE_NAME.fullmatch(name):
        raise StyleError(f"style name {name!r} is not allowed: use 1-64 letters, digits, '.', '-' or '_', starting "
                         "with a letter or digit (it becomes a folder name); set \"name\" in the style file")


@dataclass(frozen=True)
class Style:
    """Every visual factor of a rendered puzzle. Colours are any Pillow colour string (``#RRGGBB``)."""

    name: str
    background: str = "#FFFFFF"
    """Colour of the canvas and of empty cells (empty cells are not drawn)."""
    number_fill: str = "#DAE8F5"
    operator_fill: str = "#FFF9DA"
    """Fill of operator and ``=`` cells."""
    blank_fill: str = "#FFFFFF"
    border_color: str | None = "#000000"
    """Cell outline colour, or None for no border."""
    border_width: int = 2
    text_color: str = "#000000"
    answer_color: str | None = None
    """Colour of the filled-in values of a solved image; None uses ``text_color``."""
    font: str = "LiberationSans-Regular"
    """A bundled font name (see ``fonts/``) or a path to a TTF/OTF file."""
    font_size: int = 24
    cell_size: int = 55
    margin: int = 0
    blank_text: str = ""
    """What an unsolved blank shows: nothing (the published way) or a mark such as ``?``."""

    def __post_init__(self) -> None:
        check_style_name(self.name)
        for field in ("background", "number_fill", "operator_fill", "blank_fill", "border_color", "text_color",
                      "answer_color"):
            value = getattr(self, field)
            if value is None and field in ("border_color", "answer_color"):
                continue
            try:
                ImageColor.getrgb(value)
            except (ValueError, AttributeError, TypeError):
                raise StyleError(f"style {self.name!r}: {field} {value!r} is not a colour") from None
        for field, minimum in (("font_size", 1), ("cell_size", 1), ("border_width", 0), ("margin", 0)):
            value = getattr(self, field)
            if type(value) is not int or value < minimum:  # not isinstance: True and False are not sizes
                raise StyleError(f"style {self.name!r}: {field} must be a whole number of {minimum} or more, "
                                 f"not {value!r}")
        if self.font_size > self.cell_size:
            raise StyleError(f"style {self.name!r}: font_size {self.font_size} is larger than the cell "
                             f"({self.cell_size} px); text must fit its cell")
        try:
            missing = missing_glyphs(self.font, GLYPHS + self.blank_text)
        except FontError as exc:
            raise StyleError(f"style {self.name!r}: {exc}") from None
        if missing:
            raise StyleError(f"style {self.name!r}: font {self.font!r} has no glyph for "
                             f"{' '.join(repr(ch) for ch in missing)}")

    @property
    def has_border(self) -> bool:
        return self.border_color is not None and self.border_width > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        """Write this style as a JSON or TOML file (by the file's suffix)."""
        path = Path(path)
        data = self.to_dict()
        if path.suffix.lower() == ".toml":
            lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in data.items()
                     if value is not None]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


STYLES: dict[str, Style] = {
    "original": Style("original"),
    "noborder": Style("noborder", blank_fill="#F5F5F5", border_color=None, border_width=0),
    "beige": Style("beige", background="#F9F4E8"),
    "altstyle": Style("altstyle", background="#FDF5E6", number_fill="#D8BFD8", operator_fill="#FFE4B5",
                      blank_fill="#FFFAFA", border_color="#5C4033", border_width=3, text_color="#191970",
                      font="LiberationSerif-Regular", font_size=27),
}
"""The four published styles, measured from the published images (DESIGN.md, "Image styles")."""


def load_style(path: str | Path) -> Style:
    """Read a style file (JSON or TOML). ``base = "original"`` starts from a preset and changes only what it names.

    Keys a file leaves out keep the base style's value (or the ``Style`` default). TOML has no null: turn the
    border off with ``border_width = 0``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            if sys.version_info < (3, 11):
                raise StyleError("reading TOML style files needs Python 3.11 or newer; use JSON")
            else:
                import tomllib

                data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        if isinstance(exc, StyleError):
            raise
        raise StyleError(f"cannot read style file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StyleError(f"style file {path} must hold a table of style factors")
    return style_from_dict(data, default_name=path.stem)


def style_from_dict(data: dict[str, Any], default_name: str = "custom") -> Style:
    """A style from a dict of factors, optionally on top of a ``base`` preset."""
    data = dict(data)
    base_name = data.pop("base", None)
    known = {f.name for f in fields(Style)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise StyleError(f"unknown style factors: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if base_name is not None:
        if base_name not in STYLES:
            raise StyleError(f"unknown base style {base_name!r}; choose one of {', '.join(STYLES)}")
        return replace(STYLES[base_name], **{"name": data.pop("name", default_name), **data})
    return Style(**{"name": default_name, **data})


def resolve_style(style: str | Style) -> Style:
    """A Style from a preset name, a style file path, or a Style."""
    if isinstance(style, Style):
        return style
    if style in STYLES:
        return STYLES[style]
    if Path(style).suffix.lower() in (".json", ".toml"):
        if not Path(style).is_file():
            raise StyleError(f"no such style file: {style}")
        return load_style(style)
    raise StyleError(f"unknown style {style!r}; choose one of {', '.join(STYLES)} or give a .json/.toml style file")
