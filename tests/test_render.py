"""The renderer: geometry, colours, borders, fonts, variants, determinism and lossless PNGs."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageColor, ImageDraw, ImageFont

import crossmath
from crossmath import Puzzle, generate, render
from crossmath.render import STYLES, Style, StyleError, load_style
from crossmath.render.fonts import font_path


def rgb(color: str) -> tuple[int, int, int]:
    return ImageColor.getrgb(color)[:3]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


SHAPES = [generate(d, seed=21, index=i) for d in ("easy", "medium", "hard") for i in range(6)]


def kind_of(puzzle: Puzzle, r: int, c: int) -> str:
    text = puzzle.grid()[r][c]
    return "" if not text else "blank" if text == "?" else "number" if text[-1].isdigit() else "operator"


@pytest.mark.parametrize("name", sorted(STYLES))
def test_every_preset_draws_every_shape_at_the_right_size(name):
    style = STYLES[name]
    for p in SHAPES:
        image = render.render(p, name)
        assert image.size == (p.cols * style.cell_size, p.rows * style.cell_size)
        assert render.render(p, name, scale=2).size == (2 * image.width, 2 * image.height)


@pytest.mark.parametrize("name", sorted(STYLES))
def test_cell_fills_match_the_style(name):
    style = STYLES[name]
    fills = {"number": style.number_fill, "operator": style.operator_fill, "blank": style.blank_fill}
    inset = style.border_width + 3
    for p in SHAPES[:6]:
        px = pixels(render.render(p, name))
        for r in range(p.rows):
            for c in range(p.cols):
                kind = kind_of(p, r, c)
                y0, x0 = r * style.cell_size, c * style.cell_size
                centre = px[y0 + style.cell_size // 2, x0 + style.cell_size // 2]
                if not kind:
                    assert tuple(centre) == rgb(style.background)
                    continue
                assert tuple(px[y0 + inset, x0 + inset]) == rgb(fills[kind]), (name, kind, r, c)
                if kind == "blank":
                    assert tuple(centre) == rgb(style.blank_fill)


def _edge_pixels(p: Puzzle, style: Style, px: np.ndarray) -> set[tuple[int, int, int]]:
    """Colours on the top and left edge lines of every drawn cell."""
    found = set()
    for r in range(p.rows):
        for c in range(p.cols):
            if kind_of(p, r, c):
                y0, x0 = r * style.cell_size, c * style.cell_size
                found |= {tuple(v) for v in px[y0, x0:x0 + style.cell_size]}
                found |= {tuple(v) for v in px[y0:y0 + style.cell_size, x0]}
    return found


def test_noborder_has_no_border_pixels_and_bordered_styles_do():
    p = SHAPES[-1]
    plain = STYLES["noborder"]
    edges = _edge_pixels(p, plain, pixels(render.render(p, "noborder")))
    assert edges <= {rgb(plain.number_fill), rgb(plain.operator_fill), rgb(plain.blank_fill)}
    for name in ("original", "beige", "altstyle"):
        style = STYLES[name]
        assert style.border_color is not None
        assert _edge_pixels(p, style, pixels(render.render(p, name))) == {rgb(style.border_color)}


def test_a_solved_render_shows_text_in_every_blank():
    style = STYLES["original"]
    for p in SHAPES:
        blank_px, solved_px = pixels(render.render(p)), pixels(render.render(p, solved=True))
        inset = style.border_width + 1
        for r, c in p.blanks:
            y, x = r * style.cell_size + inset, c * style.cell_size + inset
            box = (slice(y, y + style.cell_size - 2 * inset), slice(x, x + style.cell_size - 2 * inset))
            assert (blank_px[box] == rgb(style.blank_fill)).all()
            assert (solved_px[box] != rgb(style.blank_fill)).any(axis=-1).sum() > 20


def _text_area(p: Puzzle, style: Style) -> np.ndarray:
    """Pixels that text may touch: the inside of number and operator cells, away from the borders."""
    area = np.zeros((p.rows * style.cell_size, p.cols * style.cell_size), dtype=bool)
    inset = style.border_width + 2
    for r in range(p.rows):
        for c in range(p.cols):
            if kind_of(p, r, c) in ("number", "operator"):
                y0, x0 = r * style.cell_size, c * style.cell_size
                area[y0 + inset:y0 + style.cell_size - inset, x0 + inset:x0 + style.cell_size - inset] = True
    return area


@pytest.mark.parametrize("font", ["DejaVuSans", "LiberationMono-Regular", "LiberationSerif-Regular"])
def test_a_font_variant_changes_only_text_pixels(font):
    base = STYLES["original"]
    variant = dataclasses.replace(base, font=font)
    for p in SHAPES[::4]:
        changed = (pixels(render.render(p, base)) != pixels(render.render(p, variant))).any(axis=-1)
        assert changed.any()
        assert not (changed & ~_text_area(p, base)).any()


def test_a_fill_variant_changes_only_that_fill():
    base = STYLES["original"]
    variant = dataclasses.replace(base, operator_fill="#FF0000")
    p = SHAPES[5]
    a, b = pixels(render.render(p, base)), pixels(render.render(p, variant))
    changed = (a != b).any(axis=-1)
    for r in range(p.rows):
        for c in range(p.cols):
            if kind_of(p, r, c) != "operator":
                y0, x0 = r * base.cell_size, c * base.cell_size
                inner = changed[y0 + 3:y0 + base.cell_size - 3, x0 + 3:x0 + base.cell_size - 3]
                assert not inner.any(), (r, c)


def _subset_font(path: str | Path, text: str) -> str:
    from fontTools import subset

    options = subset.Options()
    font = subset.load_font(str(font_path("LiberationSans-Regular")), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    subset.save_font(font, str(path), options)
    return str(path)


def test_a_font_missing_a_glyph_is_refused_by_name(tmp_path):
    no_signs = _subset_font(tmp_path / "no-signs.ttf", "0123456789+-=")
    with pytest.raises(StyleError, match="has no glyph for '×' '÷'"):
        dataclasses.replace(STYLES["original"], font=no_signs)
    no_mark = _subset_font(tmp_path / "no-mark.ttf", "0123456789+-=×÷")
    assert dataclasses.replace(STYLES["original"], font=no_mark).font == no_mark
    with pytest.raises(StyleError, match="has no glyph for '\\?'"):
        dataclasses.replace(STYLES["original"], font=no_mark, blank_text="?")


@pytest.mark.parametrize("factor, value, message", [
    ("number_fill", "not-a-colour", "not a colour"),
    ("cell_size", 0, "1 or more"),
    ("border_width", -1, "0 or more"),
    ("font", "NoSuchFont", "neither a bundled font"),
])
def test_invalid_style_factors_are_refused(factor, value, message):
    with pytest.raises(StyleError, match=message):
        dataclasses.replace(STYLES["original"], **{factor: value})


def test_png_is_lossless_and_palette_based():
    for name in STYLES:
        for p in SHAPES[::5]:
            for solved in (False, True):
                decoded = Image.open(io.BytesIO(render.png_bytes(p, name, solved=solved)))
                assert decoded.mode == "P"
                assert (pixels(decoded) == pixels(render.render(p, name, solved=solved))).all()


def test_rendering_is_byte_identical_across_processes(tmp_path):
    code = ("import sys; from crossmath import generate, render; "
            "sys.stdout.buffer.write(render.png_bytes(generate('hard', seed=3), 'altstyle', solved=True))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert other == render.png_bytes(generate("hard", seed=3), "altstyle", solved=True)


def _direct_drawing(puzzle: Puzzle, style: Style) -> Image.Image:
    """A straightforward Pillow drawing of the DESIGN.md parameters: each cell in place, full antialiasing."""
    cell = style.cell_size
    image = Image.new("RGB", (puzzle.cols * cell, puzzle.rows * cell), style.background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(font_path(style.font)), style.font_size)
    fills = {"number": style.number_fill, "operator": style.operator_fill, "blank": style.blank_fill}
    for r, row in enumerate(puzzle.grid()):
        for c, text in enumerate(row):
            kind = kind_of(puzzle, r, c)
            if not kind:
                continue
            x0, y0 = c * cell, r * cell
            draw.rectangle([x0, y0, x0 + cell, y0 + cell], fill=fills[kind],
                           outline=style.border_color if style.has_border else None, width=style.border_width)
            if kind != "blank":
                draw.text((x0 + cell / 2, y0 + cell / 2), text, fill=style.text_color, font=font, anchor="mm")
    return image


@pytest.mark.parametrize("name", sorted(STYLES))
def test_within_the_fidelity_bar_of_a_direct_pillow_drawing(name):
    for p in SHAPES[::3]:
        difference = np.abs(pixels(render.render(p, name)) - pixels(_direct_drawing(p, STYLES[name])))
        assert difference.mean() <= 0.05 and difference.max() <= 3, (difference.mean(), difference.max())


def test_style_files_round_trip_and_derive_from_a_preset(tmp_path):
    variant = dataclasses.replace(STYLES["beige"], name="beige-mono", font="LiberationMono-Regular")
    for suffix in (".json", ".toml"):
        path = tmp_path / f"style{suffix}"
        variant.save(path)
        assert load_style(path) == variant
    override = tmp_path / "big.json"
    override.write_text(json.dumps({"base": "altstyle", "font_size": 30}))
    assert load_style(override) == dataclasses.replace(STYLES["altstyle"], name="big", font_size=30)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"base": "original", "colour": "red"}))
    with pytest.raises(StyleError, match="unknown style factors: colour"):
        load_style(bad)


def test_public_face_reaches_the_renderer():
    assert crossmath.render.STYLES is STYLES and set(STYLES) == {"original", "noborder", "beige", "altstyle"}


def test_contact_sheet_holds_every_style():
    p = SHAPES[0]
    sheet = render.contact_sheet(p)
    assert sheet.width == 4 * p.cols * 55 + 5 * 20 and sheet.height == p.rows * 55 + 40


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crossmath.cli", *args], capture_output=True, text=True)


def test_render_command_from_settings_and_from_a_record(tmp_path):
    out = run("render", "--style", "altstyle", "--seed", "3", "--difficulty", "hard", "-o", str(tmp_path / "a.png"))
    assert out.returncode == 0, out.stderr
    expected = render.png_bytes(generate("hard", seed=3, index=0), "altstyle")
    assert (tmp_path / "a.png").read_bytes() == expected
    records = tmp_path / "set.jsonl"
    assert run("generate", "--count", "2", "--text-format", "jsonl", "-o", str(records)).returncode == 0
    out = run("render", "--record", str(records), "--number", "2", "--solved", "-o", str(tmp_path / "b.png"))
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "b.png").size[0] % 55 == 0
    out = run("render", "--contact-sheet", "-o", str(tmp_path / "sheet.png"))
    assert out.returncode == 0 and (tmp_path / "sheet.png").exists()
    out = run("render", "--style", "nope", "-o", str(tmp_path / "c.png"))
    assert out.returncode == 2 and out.stderr.startswith("crossmath: error: unknown style 'nope'")


def test_margins_surround_the_grid_in_the_background_colour():
    style = dataclasses.replace(STYLES["original"], margin=12)
    p = SHAPES[3]
    px = pixels(render.render(p, style))
    assert px.shape[:2] == (p.rows * 55 + 24, p.cols * 55 + 24)
    frame = np.concatenate([px[:12].reshape(-1, 3), px[-12:].reshape(-1, 3), px[:, :12].reshape(-1, 3),
                            px[:, -12:].reshape(-1, 3)])
    assert (frame == rgb(style.background)).all()
    decoded = Image.open(io.BytesIO(render.png_bytes(p, style)))
    assert (pixels(decoded) == px).all()


@pytest.mark.parametrize("name", sorted(STYLES))
def test_highlight_fills_only_the_given_cells_in_any_style(name):
    style = STYLES[name]
    p = generate("medium", seed=5)
    marks = {p.blanks[0]: "#E69F00", next(cell for cell, text in p.iter_cells() if not text[-1].isdigit()): "#56B4E9"}
    plain = pixels(render.render(p, style, solved=True))
    marked = pixels(render.render(p, style, solved=True, highlight=marks))
    size = style.cell_size
    changed = np.argwhere((plain != marked).any(axis=2))
    cells = {((y - style.margin) // size, (x - style.margin) // size) for y, x in changed}
    assert set(marks) <= cells
    # a cell is drawn as Pillow's rectangle [x0, y0, x0 + cell, y0 + cell]: nothing changes beyond that edge
    assert all(any(r * size <= y - style.margin <= (r + 1) * size and c * size <= x - style.margin <= (c + 1) * size
                   for r, c in marks) for y, x in changed)
    for (r, c), colour in marks.items():  # the cell's inside takes the colour; its text stays
        inside = marked[r * size + style.margin + 4, c * size + style.margin + 4]
        assert tuple(inside) == rgb(colour)
    decoded = pixels(Image.open(io.BytesIO(render.png_bytes(p, style, solved=True, highlight=marks))))
    assert (decoded == marked).all()
    with pytest.raises(StyleError, match="not a filled cell"):
        render.render(p, style, highlight={(1, 1): "red"} if not p.grid()[1][1] else {(99, 99): "red"})
    with pytest.raises(StyleError, match="not a colour"):
        render.render(p, style, highlight={p.blanks[0]: "no-such-colour"})
