"""Drawing a puzzle with Pillow, and writing it as a lossless PNG.

Each filled cell is Pillow's ``rectangle([x0, y0, x0 + cell, y0 + cell], fill, outline, width)`` followed by its
text centred in the cell (``anchor="mm"``), cells in reading order, so a later cell's outline covers the edge it
shares with an earlier one. A cell's drawing depends only on the style, its kind and its text, so it is drawn once
into a tile of ``cell + 1`` pixels and pasted wherever it recurs: the same pixels as drawing in place, far faster.

Text edges are antialiased with coverage rounded to multiples of 5 (52 levels instead of 256). That moves an edge
pixel by at most 2 grey levels, and it bounds every image to fewer than 256 colours, so images are composed and
stored as 8-bit palette PNGs: lossless, with a third of the bytes to filter and compress.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from crossmath.errors import CrossmathError
from crossmath.puzzles.model import Cell, Puzzle
from crossmath.render.fonts import load_font
from crossmath.render.styles import STYLES, Style, StyleError, resolve_style

PNG_COMPRESS_LEVEL = 6
"""zlib level for PNG files, chosen by measurement on an 11x13 palette image (this project's 2-core machine):
level 3 encodes in 1.3 ms to 10.3 kB, level 6 in 3.6 ms to 7.6 kB, level 9 in 11.8 ms to 5.5 kB. Level 6 keeps
files a quarter smaller than level 3 while staying well above 150 images/s; every level is lossless."""

COVERAGE_STEP = 5
"""Text coverage is rounded to multiples of this (see the module docstring)."""

_COVERAGE_TABLE = [min(255, round(v / COVERAGE_STEP) * COVERAGE_STEP) for v in range(256)]

MAX_PIXELS = 50_000_000
"""The largest image drawn (50 megapixels, 150 MB as RGB): a 61x61 grid of 55 px cells is 11 megapixels, while
``--scale 1000`` would ask for terabytes. Checked before anything is drawn."""


class RenderError(CrossmathError):
    """An image that cannot be made as asked: beyond :data:`MAX_PIXELS`, or a file type that cannot be written."""


def scaled(style: Style, scale: int) -> Style:
    """The style with every length multiplied by ``scale`` (for high-resolution renders)."""
    if type(scale) is not int or scale < 1:
        raise StyleError(f"scale must be a whole number of 1 or more, not {scale!r}")
    if scale == 1:
        return style
    if (style.cell_size * scale + 1) ** 2 > MAX_PIXELS:
        raise RenderError(f"scale {scale} makes {style.cell_size * scale} px cells, beyond the limit of "
                          f"{MAX_PIXELS:,} pixels per image")
    return replace(style, cell_size=style.cell_size * scale, font_size=style.font_size * scale,
                   border_width=style.border_width * scale, margin=style.margin * scale)


def check_numbers_fit(style: Style, largest: int) -> None:
    """Refuse a style that would clip numbers up to ``largest`` at the cell edge (``140`` drawn as ``.40``): the
    widest number of as many digits, in the style's font, must fit in the cell. A style alone checks only that its
    font is not taller than its cell; how wide a number is depends on how many digits it has."""
    font = load_font(style.font, style.font_size)
    widest = max((digit * len(str(largest)) for digit in "0123456789"), key=font.getlength)
    if font.getlength(widest) > style.cell_size:
        raise StyleError(f"style {style.name!r}: a {len(widest)}-digit number at font_size {style.font_size} is "
                         f"{font.getlength(widest):.1f} px wide, wider than its {style.cell_size} px cell, so numbers "
                         "would be clipped; use a smaller font_size or a larger cell_size")


def _prepared(puzzle: Puzzle, style: str | Style, scale: int) -> Style:
    """The style to draw with, once the image it makes is known to be within :data:`MAX_PIXELS` and its numbers
    to fit their cells."""
    style = scaled(resolve_style(style), scale)
    check_numbers_fit(style, max((v for v in puzzle.values.values() if v is not None), default=0))
    width, height = _canvas_size(puzzle, style)
    if width * height > MAX_PIXELS or (style.cell_size + 1) ** 2 > MAX_PIXELS:
        raise RenderError(f"a {width}x{height} image is beyond the limit of {MAX_PIXELS:,} pixels; use a smaller "
                          "scale, cell size or margin")
    return style


@lru_cache(maxsize=8192)
def _rgb_tile(style: Style, fill: str, text: str, color: str) -> Image.Image:
    size = style.cell_size
    tile = Image.new("RGB", (size + 1, size + 1), style.background)
    draw = ImageDraw.Draw(tile)
    if style.has_border:
        draw.rectangle([0, 0, size, size], fill=fill, outline=style.border_color, width=style.border_width)
    else:
        draw.rectangle([0, 0, size, size], fill=fill)
    if text:
        mask = Image.new("L", tile.size, 0)
        font = load_font(style.font, style.font_size)
        ImageDraw.Draw(mask).text((size / 2, size / 2), text, fill=255, font=font, anchor="mm")
        tile.paste(ImageColor.getrgb(color), (0, 0), mask.point(_COVERAGE_TABLE))
    return tile


@lru_cache(maxsize=64)
def _style_palette(style: Style) -> dict[int, int]:
    """Every colour the style can draw, each with a fixed palette index: the same palette in every process and
    whatever was drawn before, so the same puzzle always gives the same PNG bytes.

    Text is the one source of blended colours: ink over a fill at each rounded coverage level, blended by the very
    paste that draws the tiles.
    """
    ink = style.answer_color or style.text_color
    pairs = [(style.number_fill, style.text_color), (style.operator_fill, style.text_color),
             (style.blank_fill, ink), (style.blank_fill, style.text_color)]
    coverage = Image.frombytes("L", (256, 1), bytes(sorted(set(_COVERAGE_TABLE))).ljust(256, b"\0"))
    colours = [style.background, style.number_fill, style.operator_fill, style.blank_fill]
    if style.has_border:
        colours.append(style.border_color)  # type: ignore[arg-type]
    packed = [_packed(colour) for colour in colours]
    for fill, text_colour in pairs:
        strip = Image.new("RGB", (256, 1), fill)
        strip.paste(ImageColor.getrgb(text_colour), (0, 0), coverage)
        raw = strip.tobytes()
        packed += [(raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2] for i in range(0, len(raw), 3)]
    index: dict[int, int] = {}
    for colour in packed:
        index.setdefault(colour, len(index))
    return index


def _palette_flat(index: dict[int, int]) -> list[int]:
    return [channel for packed in index for channel in (packed >> 16, (packed >> 8) & 255, packed & 255)]


@lru_cache(maxsize=8192)
def _palette_tile(style: Style, fill: str, text: str, color: str) -> Image.Image | None:
    """The tile as indices into the style's palette, or None if it holds a colour the palette lacks."""
    rgb = np.asarray(_rgb_tile(style, fill, text, color), dtype=np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    colours, positions = np.unique(packed, return_inverse=True)
    index = _style_palette(style)
    if len(index) > 256 or any(colour not in index for colour in colours.tolist()):
        return None
    indices = np.array([index[c] for c in colours.tolist()], dtype=np.uint8)[positions.reshape(-1)]
    return Image.frombytes("P", (rgb.shape[1], rgb.shape[0]), indices.tobytes())


Highlight = Mapping[Cell, str]
"""Cells to fill in another colour, (row, column) -> any Pillow colour string."""


def _check_highlight(puzzle: Puzzle, highlight: Highlight | None) -> dict[Cell, str]:
    cells = {cell for cell, _ in puzzle.iter_cells()}
    checked = {}
    for cell, colour in (highlight or {}).items():
        if tuple(cell) not in cells:
            raise StyleError(f"highlight: {cell!r} is not a filled cell of the puzzle")
        try:
            ImageColor.getrgb(colour)
        except (ValueError, AttributeError, TypeError):
            raise StyleError(f"highlight: {colour!r} is not a colour") from None
        checked[(int(cell[0]), int(cell[1]))] = colour
    return checked


def _cells(puzzle: Puzzle, style: Style, solved: bool,
           highlight: Highlight | None = None) -> Iterator[tuple[tuple[int, int], tuple[str, str, str]]]:
    """Each filled cell's top-left corner and its tile key (fill, text, text colour), in reading order; a
    highlighted cell keeps its text and takes the highlight colour as its fill."""
    marked = _check_highlight(puzzle, highlight)
    blanks = set(puzzle.blanks)
    answer_color = style.answer_color or style.text_color
    cell, margin = style.cell_size, style.margin
    for r, row in enumerate(puzzle.grid_rows(solved=solved)):
        for c, text in enumerate(row):
            if not text:
                continue
            if (r, c) in blanks:
                key = (style.blank_fill, text if solved else style.blank_text, answer_color)
            elif text[-1].isdigit():
                key = (style.number_fill, text, style.text_color)
            else:
                key = (style.operator_fill, text, style.text_color)
            if (r, c) in marked:
                key = (marked[(r, c)], *key[1:])
            yield (margin + c * cell, margin + r * cell), key


def _canvas_size(puzzle: Puzzle, style: Style) -> tuple[int, int]:
    return puzzle.cols * style.cell_size + 2 * style.margin, puzzle.rows * style.cell_size + 2 * style.margin


def _restore_margin(image: Image.Image, style: Style, ink: str | int) -> None:
    """A tile's last row and column belong to the next cell; at the right and bottom edges they must not eat the
    margin."""
    if style.margin:
        width, height = image.size
        draw = ImageDraw.Draw(image)
        draw.rectangle([width - style.margin, 0, width, height], fill=ink)
        draw.rectangle([0, height - style.margin, width, height], fill=ink)


def render(puzzle: Puzzle, style: str | Style = "original", *, solved: bool = False, scale: int = 1,
           highlight: Highlight | None = None) -> Image.Image:
    """Draw a puzzle as an RGB image: blanks empty (or the style's blank mark), or with ``solved`` completed.

    The image is ``cols x cell`` by ``rows x cell`` pixels (plus margins), times ``scale``. ``highlight`` fills
    the given cells (row, column) in the given colours instead of their style's fill, e.g. to mark wrong answers.
    """
    style = _prepared(puzzle, style, scale)
    image = Image.new("RGB", _canvas_size(puzzle, style), style.background)
    for corner, key in _cells(puzzle, style, solved, highlight):
        image.paste(_rgb_tile(style, *key), corner)
    _restore_margin(image, style, style.background)
    return image


def _render_palette(puzzle: Puzzle, style: Style, solved: bool, highlight: Highlight | None) -> Image.Image | None:
    """The same picture as :func:`render` as a palette image, or None when a colour falls outside the palette."""
    cells = list(_cells(puzzle, style, solved, highlight))
    placed = [(corner, tile) for corner, key in cells if (tile := _palette_tile(style, *key)) is not None]
    if len(placed) < len(cells):
        return None
    index = _style_palette(style)
    background = index[_packed(style.background)]
    image = Image.new("P", _canvas_size(puzzle, style), background)
    for corner, tile in placed:
        image.paste(tile, corner)
    _restore_margin(image, style, background)
    image.putpalette(_palette_flat(index))
    return image


def _packed(color: str) -> int:
    r, g, b = ImageColor.getrgb(color)[:3]
    return (r << 16) | (g << 8) | b


def encode_png(image: Image.Image, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """PNG bytes of an image with the project's settings (what the benchmark's floor measures alone)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def png_bytes(puzzle: Puzzle, style: str | Style = "original", *, solved: bool = False, scale: int = 1,
              highlight: Highlight | None = None) -> bytes:
    """The rendered puzzle as lossless PNG bytes (a palette PNG whenever it fits 256 colours, as it does for
    every preset without highlights); decoded, it equals :func:`render`'s image pixel for pixel."""
    style = _prepared(puzzle, style, scale)
    image = _render_palette(puzzle, style, solved, highlight)
    return encode_png(image if image is not None else render(puzzle, style, solved=solved, highlight=highlight))


def image_format(path: Path) -> str:
    """The Pillow format a file's suffix names (``.png`` -> ``PNG``, ``.jpg`` -> ``JPEG``); RenderError for a
    suffix Pillow cannot write."""
    Image.init()
    name = Image.registered_extensions().get(path.suffix.lower())
    if name is None or name not in Image.SAVE:
        raise RenderError(f"cannot write an image named {path.name!r}: give it a suffix such as .png, .jpg or .webp")
    return name


def write_image(image: Image.Image, path: str | Path) -> Path:
    """Write an image in the format its file's suffix names (PNG with the project's settings)."""
    path = Path(path)
    kind = image_format(path)
    if kind == "PNG":
        path.write_bytes(encode_png(image))
    else:
        image.convert("RGB").save(path, format=kind)
    return path


def save(puzzle: Puzzle, path: str | Path, style: str | Style = "original", *, solved: bool = False,
         scale: int = 1, highlight: Highlight | None = None) -> Path:
    """Render a puzzle and write it in the format the file's suffix names (lossless palette PNG for ``.png``);
    returns the path."""
    path = Path(path)
    if image_format(path) == "PNG":
        path.write_bytes(png_bytes(puzzle, style, solved=solved, scale=scale, highlight=highlight))
        return path
    return write_image(render(puzzle, style, solved=solved, scale=scale, highlight=highlight), path)


def contact_sheet(puzzle: Puzzle, styles: list[str | Style] | None = None, *, solved: bool = False, scale: int = 1,
                  gap: int = 20) -> Image.Image:
    """One image showing the puzzle in every style side by side, for a quick look."""
    prepared = check_sheet(puzzle, styles or list(STYLES), scale=scale, gap=gap)
    return side_by_side([render(puzzle, style, solved=solved) for style in prepared], gap=gap)


def check_sheet(puzzle: Puzzle, styles: Sequence[str | Style], *, scale: int = 1,
                gap: int = 20) -> list[Style]:
    """The styles of a sheet of the puzzle in each (scaled), once the sheet is known to be within
    :data:`MAX_PIXELS`: checked before anything is drawn, since drawing hundreds of images first takes gigabytes."""
    prepared = [_prepared(puzzle, style, scale) for style in styles]
    _check_sheet([_canvas_size(puzzle, style) for style in prepared], gap)
    return prepared


def _check_sheet(sizes: list[tuple[int, int]], gap: int) -> tuple[int, int]:
    """The size of a sheet of images of these sizes ``gap`` apart, refused beyond :data:`MAX_PIXELS`."""
    width = sum(w for w, _ in sizes) + gap * (len(sizes) + 1)
    height = max(h for _, h in sizes) + 2 * gap
    if width * height > MAX_PIXELS:
        raise RenderError(f"a sheet of {len(sizes)} images would be {width}x{height} pixels, beyond the limit of "
                          f"{MAX_PIXELS:,} pixels; show fewer styles or levels, or use a smaller scale")
    return width, height


def side_by_side(images: list[Image.Image], *, gap: int = 20) -> Image.Image:
    """Images in a row on a grey sheet, top-aligned, ``gap`` pixels apart."""
    sheet = Image.new("RGB", _check_sheet([im.size for im in images], gap), "#808080")
    x = gap
    for im in images:
        sheet.paste(im, (x, gap))
        x += im.width + gap
    return sheet
