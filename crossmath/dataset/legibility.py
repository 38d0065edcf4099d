"""Legibility: can a reader read the numbers in a config's images at all? Tesseract reads them back.

For a sample of each config's images, every shown number cell is cropped from the renderer's own geometry (the
config's cell size, margin and border, moved by its rotation if it has one), stretched to full contrast, enlarged
so a cell is 70 px high, and stacked into one column with white gaps; Tesseract (digits only, one block) reads
up to 100 numbers per call, and each word is assigned to the cell whose strip holds it. A number counts as read
when the digits found in its strip are exactly its value. Tesseract is sensitive to scale: on 100 test images of
the original style it read 100% of numbers at 70 px, 99.0% at 110 px and 93% at 90 px, so 70 px is fixed here.
A variant far below the presets' share measures the reader's eyesight, not its reasoning.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from PIL import Image, ImageOps

from crossmath.dataset.factors import Config
from crossmath.dataset.files import read_json, write_atomic, write_json
from crossmath.dataset.pipeline import MANIFEST
from crossmath.dataset.settings import BuildSettings
from crossmath.errors import CrossmathError
from crossmath.puzzles.model import Cell, Puzzle
from crossmath.puzzles.text import from_markdown
from crossmath.render.perturb import box_after

DEFAULT_SAMPLE = 20
"""Images read per config (the first ones of the test split, or of train when there is no test split)."""
STRIP_HEIGHT = 70
GAP = 30
TESSERACT_CONFIG = "--psm 6 -c tessedit_char_whitelist=0123456789"
SECTION = "## Legibility"
STRIPS_PER_CALL = 100
"""Numbers per Tesseract call: each call starts a process, so batching is what makes the check quick."""


class LegibilityError(CrossmathError):
    """No OCR engine, a folder that is not a finished build, or a config below the required legibility."""


@dataclass(frozen=True)
class Legibility:
    """How many of a config's shown numbers Tesseract read back correctly."""

    config: str
    images: int
    numbers: int
    read: int

    @property
    def share(self) -> float:
        return 100.0 * self.read / self.numbers if self.numbers else 0.0


def tesseract() -> Any:
    """The pytesseract module, once the Tesseract engine is known to run (else one clear error)."""
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except ImportError:
        raise LegibilityError("the legibility check needs pytesseract: pip install 'crossmath[ocr]'") from None
    except pytesseract.TesseractNotFoundError:
        raise LegibilityError("the legibility check needs the Tesseract OCR engine: apt-get install tesseract-ocr "
                              "(Debian/Ubuntu) or see https://tesseract-ocr.github.io") from None
    return pytesseract


Box = tuple[float, float, float, float]


def cell_boxes(puzzle: Puzzle, config: Config, size: tuple[int, int]) -> dict[Cell, Box]:
    """Where each shown number of ``puzzle`` lies in the config's image of size ``size``: the cell inside its
    border, as the renderer placed it, moved as the perturbations moved it."""
    style = config.style
    inset = max(style.border_width if style.has_border else 0, 2) + 1  # the same crop with or without a border
    drawn = (puzzle.cols * style.cell_size + 2 * style.margin, puzzle.rows * style.cell_size + 2 * style.margin)
    boxes: dict[Cell, Box] = {}
    for (row, col) in puzzle.givens:
        x0, y0 = style.margin + col * style.cell_size, style.margin + row * style.cell_size
        box = (x0 + inset, y0 + inset, x0 + style.cell_size - inset + 1, y0 + style.cell_size - inset + 1)
        boxes[(row, col)] = box_after(box, drawn, config.perturbations)
    return boxes


def number_strips(image: Image.Image, puzzle: Puzzle, config: Config) -> list[tuple[Image.Image, str]]:
    """Each shown number of ``puzzle`` in its image: the cell crop, enlarged and stretched to full contrast (so a
    dark fill reads like a light one), and the number it shows."""
    grey = image.convert("L")
    scale = STRIP_HEIGHT / config.style.cell_size
    strips = []
    for cell, box in sorted(cell_boxes(puzzle, config, image.size).items()):
        x0, y0, x1, y1 = (round(v) for v in box)
        crop = ImageOps.autocontrast(grey.crop((x0, y0, x1, y1)), cutoff=1)
        size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
        strips.append((crop.resize(size, Image.Resampling.LANCZOS), str(puzzle.givens[cell])))
    return strips


def read_strips(strips: list[tuple[Image.Image, str]]) -> int:
    """How many strips Tesseract reads as exactly their number: one call for a column of them with white gaps,
    each word assigned to the strip whose band holds its middle."""
    pytesseract = tesseract()
    width = max(strip.width for strip, _ in strips) + 2 * GAP
    column = Image.new("L", (width, sum(strip.height + GAP for strip, _ in strips) + GAP), 255)
    bands, y = [], GAP
    for strip, _ in strips:
        column.paste(strip, (GAP, y))
        bands.append((y - GAP // 2, y + strip.height + GAP // 2))
        y += strip.height + GAP
    data = pytesseract.image_to_data(column, config=TESSERACT_CONFIG, output_type=pytesseract.Output.DICT)
    found: list[list[tuple[int, str]]] = [[] for _ in strips]
    for text, left, top, height in zip(data["text"], data["left"], data["top"], data["height"]):
        digits = "".join(ch for ch in text if ch.isdigit())
        middle = top + height / 2
        for number, (lo, hi) in enumerate(bands):
            if digits and lo <= middle < hi:
                found[number].append((left, digits))
    return sum("".join(d for _, d in sorted(words)) == value for (_, value), words in zip(strips, found))


def check_config(root: Path, settings: BuildSettings, config: Config, sample: int) -> Legibility:
    """Read the numbers of the first ``sample`` images of one config (test split, else train)."""
    split = "test" if settings.test_size else "train"
    strips: list[tuple[Image.Image, str]] = []
    images = 0
    for chunk_file in sorted((root / "data" / config.name).glob(f"{split}-*.parquet")):
        table = pq.read_table(chunk_file, columns=["image", "markdown_table"]).to_pylist()
        for row in table[: sample - images]:
            puzzle = from_markdown(row["markdown_table"], solve=False)
            strips += number_strips(Image.open(io.BytesIO(row["image"]["bytes"])), puzzle, config)
            images += 1
        if images >= sample:
            break
    read = sum(read_strips(strips[i:i + STRIPS_PER_CALL]) for i in range(0, len(strips), STRIPS_PER_CALL))
    return Legibility(config.name, images, len(strips), read)


def check_dataset(root: str | Path, *, sample: int = DEFAULT_SAMPLE, progress: bool = False) -> list[Legibility]:
    """Legibility of every config of a finished build; recorded in its ``crossmath_build.json`` and card."""
    root = Path(root)
    if not (root / MANIFEST).is_file():
        raise LegibilityError(f"{root} is not a finished crossmath build (no {MANIFEST})")
    if sample < 1:
        raise LegibilityError("the legibility sample needs at least 1 image")
    tesseract()
    manifest = read_json(root / MANIFEST)
    settings = BuildSettings.from_dict(manifest["settings"])
    if "hf" not in settings.outputs:
        raise LegibilityError(f"{root} has no Parquet files to read (built without the hf format)")
    from tqdm import tqdm

    results = [check_config(root, settings, config, sample)
               for config in tqdm(settings.configs, desc="reading numbers", unit="config", disable=not progress)]
    manifest["legibility"] = {
        "engine": f"tesseract {tesseract().get_tesseract_version()}", "sample": sample,
        "configs": {r.config: {"images": r.images, "numbers": r.numbers, "read": r.read,
                               "share": round(r.share, 2)} for r in results},
    }
    write_json(root / MANIFEST, manifest)
    card = root / "README.md"
    if card.is_file():
        text = _with_section(card.read_text(encoding="utf-8"), card_section(manifest["legibility"]))
        write_atomic(card, text.encode())
    return results


def card_section(legibility: dict[str, Any]) -> list[str]:
    """The dataset card's legibility section."""
    return [
        SECTION, "",
        f"Every shown number of the first {legibility['sample']} images of each config, cropped from the "
        f"renderer's geometry, read back with {legibility['engine']} (digits only). A config far below the "
        "published styles tests a model's eyesight rather than its reasoning.", "",
        "| config | images | numbers | read correctly |", "|---|---|---|---|",
        *(f"| `{name}` | {r['images']} | {r['numbers']} | {r['share']:.1f}% |"
          for name, r in legibility["configs"].items()),
        "",
    ]


def _with_section(card: str, section: list[str]) -> str:
    """The card with its legibility section replaced (or added before the licence)."""
    lines = card.split("\n")
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        del lines[start:end]
    else:
        start = next((i for i, line in enumerate(lines) if line == "## Licence"), len(lines))
    lines[start:start] = section
    return "\n".join(lines)


def check_legibility(root: str | Path, sample: int, minimum: float | None, progress: bool) -> list[Legibility]:
    """Check a build, print one line per config, and return the configs below ``minimum`` percent (named on
    standard error)."""
    results = check_dataset(root, sample=sample, progress=progress)
    for r in results:
        print(f"legibility {r.config}: {r.share:.1f}% of {r.numbers} numbers in {r.images} images read correctly")
    failed = [r for r in results if minimum is not None and r.share < minimum]
    if failed:
        print(f"legibility below {minimum:g}%: {', '.join(r.config for r in failed)}", file=sys.stderr)
    return failed
