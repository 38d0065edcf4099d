"""The file and folder names of the published layout, per style: the one table of them, and the rule for others.

The published release keeps each style in ``data/<Folder>/`` with a records file ``testset_<tag>.jsonl`` and the
images of puzzle N as ``test_images_blank_<tag>/math_puzzle_NNNN_blank<suffix>.png`` (blank) and
``test_images_<tag>/math_puzzle_NNNN<suffix>.png`` (solved); the train split says ``train`` for ``test``. The four
presets keep the release's names (Original's tag is ``hr`` and its images have no suffix); any other style follows
the rule of Noborder and Altstyle: its name capitalized is the folder, its name is the tag, and ``_<name>`` the suffix.

Writers (``crossmath-build --format crossmath-jsonl``, ``crossmath generate --text-format jsonl``) and readers (the
evaluator naming puzzles by their image) both take the names from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class PublishedNames:
    """Where one style's records and images go in the published layout."""

    folder: str
    """The style's folder under ``data/``, e.g. ``Original``."""
    tag: str
    """Names the records file and the image folders, e.g. ``hr`` in ``testset_hr.jsonl``."""
    suffix: str
    """Ends every image file name, e.g. ``_hr_beige``; empty for Original."""

    def records_file(self, split: str = "test") -> str:
        """The records file of a split, e.g. ``testset_hr_beige.jsonl``."""
        return f"{split}set_{self.tag}.jsonl"

    def image_names(self, number: int, split: str = "test") -> tuple[str, str]:
        """The ``img`` and ``img_blank`` of puzzle ``number`` (1-based): the solved and the blank image, relative
        to the records file."""
        stem = f"math_puzzle_{number:04d}"
        return (f"{split}_images_{self.tag}/{stem}{self.suffix}.png",
                f"{split}_images_blank_{self.tag}/{stem}_blank{self.suffix}.png")


PRESET_NAMES = {
    "original": PublishedNames("Original", "hr", ""),
    "noborder": PublishedNames("Noborder", "noborder", "_noborder"),
    "beige": PublishedNames("Beige", "hr_beige", "_hr_beige"),
    "altstyle": PublishedNames("Altstyle", "altstyle", "_altstyle"),
}
"""The published release's names of the four preset styles."""


def published_names(style: str) -> PublishedNames:
    """The names of ``style`` (a style's name): a preset's published names, or those the rule gives any other."""
    return PRESET_NAMES.get(style) or PublishedNames(style.capitalize(), style, f"_{style}")


_BLANK_IMAGE = re.compile(r"(?P<puzzle>.+?)_blank(?:_.+)?")


def puzzle_name(img_blank: str) -> str:
    """A puzzle's name from its blank image path in any style's layout, the same in every style:
    ``test_images_blank_hr_beige/math_puzzle_0001_blank_hr_beige.png`` gives ``math_puzzle_0001``. A file name
    without ``_blank`` is its own name (without the extension)."""
    stem = PurePosixPath(img_blank).stem
    match = _BLANK_IMAGE.fullmatch(stem)
    return match["puzzle"] if match else stem
