"""Fonts: the bundled files, any TTF/OTF by path, and a fonttools check that a font has every glyph it must draw."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError
from PIL import ImageFont

from crossmath.errors import CrossmathError


class FontError(CrossmathError):
    """A font that cannot be found or opened, or that lacks glyphs a style must draw."""


def _bundled_dirs() -> list[Path]:
    """Where bundled fonts live: inside the installed package, or else ``fonts/`` of a source checkout."""
    packaged = resources.files("crossmath") / "fonts"
    if packaged.is_dir():
        return [Path(str(packaged))]
    checkout = Path(__file__).resolve().parents[2] / "fonts"
    return [checkout] if checkout.is_dir() else []


def bundled_fonts() -> dict[str, Path]:
    """Every bundled font by name (its file stem)."""
    found: dict[str, Path] = {}
    for folder in _bundled_dirs():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".ttf", ".otf"):
                found.setdefault(path.stem, path)
    return found


LICENCES = {
    "Liberation": "SIL Open Font License 1.1",
    "DejaVu": "Bitstream Vera and DejaVu licence (free, permissive)",
}
"""Licence of each bundled font family (by file-name prefix); the full texts are ``fonts/LICENSE-<family>.txt``."""


def font_licence(font: str) -> str | None:
    """The licence of a bundled font; None for a font given by path, whose licence crossmath cannot know."""
    if font not in bundled_fonts():
        return None
    return next((licence for family, licence in LICENCES.items() if font.startswith(family)), None)


def font_path(font: str) -> Path:
    """The file of a bundled font name, or of a font given by path."""
    bundled = bundled_fonts()
    if font in bundled:
        return bundled[font]
    path = Path(font).expanduser()
    if path.is_file():
        return path
    raise FontError(f"font {font!r} is neither a bundled font ({', '.join(bundled)}) nor a font file")


@lru_cache(maxsize=64)
def _character_map(path: Path) -> frozenset[int]:
    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            return frozenset(font.getBestCmap() or {})
    except (TTLibError, OSError) as exc:
        raise FontError(f"cannot read font {path}: {exc}") from None


def missing_glyphs(font: str, text: str) -> list[str]:
    """The characters of ``text`` that the font has no glyph for, in order of first appearance."""
    covered = _character_map(font_path(font))
    missing: list[str] = []
    for char in text:
        if not char.isspace() and ord(char) not in covered and char not in missing:
            missing.append(char)
    return missing


@lru_cache(maxsize=64)
def load_font(font: str, size: int) -> ImageFont.FreeTypeFont:
    """A Pillow font object (cached: loading a face is far slower than drawing with it)."""
    return ImageFont.truetype(str(font_path(font)), size)
