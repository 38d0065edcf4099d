"""Rendering: puzzles drawn by Pillow in the four published styles or any controlled variant.

``from crossmath import render``; then ``render.render(puzzle, style="original")``, ``render.save(...)``,
``render.STYLES`` and ``render.Style``.
"""

from crossmath.render.draw import (
    MAX_PIXELS,
    PNG_COMPRESS_LEVEL,
    RenderError,
    contact_sheet,
    encode_png,
    png_bytes,
    render,
    save,
    side_by_side,
    write_image,
)
from crossmath.render.fonts import FontError, bundled_fonts
from crossmath.render.styles import STYLES, Style, StyleError, load_style, resolve_style, style_from_dict

__all__ = [
    "MAX_PIXELS", "PNG_COMPRESS_LEVEL", "STYLES", "FontError", "RenderError", "Style", "StyleError", "bundled_fonts",
    "contact_sheet", "encode_png", "load_style", "png_bytes", "render", "resolve_style", "save", "side_by_side",
    "style_from_dict", "write_image",
]
