"""Prompts: our instruction per modality, the answer contract, and user templates.

A template is text with ``{rules}``, ``{puzzle}``, ``{format}`` and ``{answer_format}`` placeholders. The
text and hybrid modes fill ``{puzzle}`` with a text serialization; the image and hybrid modes attach the image.
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossmath.errors import CrossmathError

if TYPE_CHECKING:
    from crossmath.eval.sources import EvalItem

MODALITIES = ("text", "image", "hybrid")
"""The modalities that answer a puzzle from what they are shown (the modality-gap table's columns)."""
TRANSCRIBE, TWO_STAGE = "transcribe", "two-stage"
RUN_MODALITIES = (*MODALITIES, TRANSCRIBE, TWO_STAGE)
"""What ``crossmath-eval run --modality`` takes: the three above, the perception probe (the image alone, the grid
transcribed) and two-stage solving (the text prompt built from the model's own transcription)."""
IMAGE_MODALITIES = ("image", "hybrid", TRANSCRIBE)
"""The modalities whose prompts carry the image."""

RULES = (
    "This is a cross-math puzzle: a grid of equations of the form A op B = C that read left to right (across) or "
    "top to bottom (down), where op is +, -, × or ÷. Equations cross at shared numbers. Some numbers are "
    "missing. Every number is a positive whole number and every division comes out even. Find every missing "
    "number."
)
ANSWER_FORMAT = (
    "Give the missing numbers in reading order (row by row from the top, each row from left to right), "
    "separated by single spaces, inside <answer></answer> at the end of your reply, for example "
    "<answer>78 33 128 90</answer>."
)
TRANSCRIBE_FORMAT = (
    "Transcribe the grid exactly as shown, as a {format}: one row per grid row and one cell per grid column, "
    "'?' for a missing number, every empty square left empty. Do not solve the puzzle. Put the transcription "
    "inside <grid></grid> at the end of your reply."
)
"""The reply contract of a transcription (``{format}`` names the text form asked for)."""
FORMAT_NAMES = {
    "markdown": "markdown table, one line per grid row, '?' for a missing number and blank cells for empty "
                "squares",
    "json": "JSON list of grid rows, \"?\" for a missing number and \"\" for an empty square",
    "csv": "CSV grid, one line per row, '?' for a missing number and empty fields for empty squares",
    "cells": "list of filled squares: a 'rows columns' line, then one 'row column content' line per square "
             "(counted from 0 at the top left), '?' for a missing number",
}
DEFAULT_TEMPLATES = {
    "text": "{rules}\n\nThe puzzle, as a {format}:\n\n{puzzle}\n\n{answer_format}",
    "image": "{rules}\n\nThe puzzle is shown in the image; an empty square inside a row or column of an equation "
             "is a missing number.\n\n{answer_format}",
    "hybrid": "{rules}\n\nThe puzzle is shown in the image and, with the same content, below as a {format}:\n\n"
              "{puzzle}\n\n{answer_format}",
    TRANSCRIBE: "The image shows a cross-math puzzle: a grid of squares holding numbers, the operators +, -, × and "
                "÷, and equals signs, in equations that read across or down; an empty square inside an equation is "
                "a missing number.\n\n{answer_format}",
}
DEFAULT_TEMPLATES[TWO_STAGE] = DEFAULT_TEMPLATES["text"]  # its second stage: the text prompt of its own reading
PLACEHOLDERS = {"rules", "puzzle", "format", "answer_format"}


class PromptError(CrossmathError):
    """A prompt template that cannot be used."""


@dataclass(frozen=True)
class Prompt:
    """What one request sends: chat messages and, for image and hybrid modes, the image."""

    messages: list[dict[str, Any]]
    image_file: bytes | None
    """The image file as the dataset stores it (an API engine sends it as is, a local model decodes it)."""

    @cached_property
    def image(self) -> Any | None:
        """The image as an RGB PIL image (None for text prompts)."""
        if self.image_file is None:
            return None
        from PIL import Image

        return Image.open(io.BytesIO(self.image_file)).convert("RGB")


def _fields(template: str) -> list[tuple[str, str | None, str | None]]:
    """The placeholders of a template with their format spec and conversion; a template ``str.format`` cannot
    read (a lone brace) is a PromptError."""
    try:
        return [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                if name is not None]
    except ValueError as exc:
        raise PromptError(f"the prompt template is not a valid template ({exc}); write {{{{ and }}}} for literal "
                          "braces") from None


def check_template(template: str, modality: str) -> None:
    fields = _fields(template)
    if any(spec or conversion for _, spec, conversion in fields):
        raise PromptError("placeholders in the prompt template take no format spec or conversion (write "
                          "{puzzle}, not {puzzle:...} or {puzzle!r})")
    names = {name for name, _, _ in fields}
    unknown = names - PLACEHOLDERS
    if unknown:
        raise PromptError(f"unknown placeholders {sorted(unknown)} in the prompt template "
                          f"(use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})")
    if modality not in IMAGE_MODALITIES and "puzzle" not in names:
        raise PromptError(f"a {modality} prompt template must contain {{puzzle}}")


def load_template(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PromptError(f"prompt file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start})") from None


def prompt_text(template: str, modality: str, text_format: str, puzzle_text: str) -> str:
    """A template filled in: a transcription's answer format is the grid contract, every other the answer's."""
    answer_format = TRANSCRIBE_FORMAT.format(format=FORMAT_NAMES[text_format]) if modality == TRANSCRIBE \
        else ANSWER_FORMAT
    return template.format(rules=RULES, answer_format=answer_format, format=FORMAT_NAMES[text_format],
                           puzzle=puzzle_text if modality in ("text", "hybrid") else "")


def build_prompt(item: EvalItem, modality: str, text_format: str, template: str) -> Prompt:
    """The chat messages (and image) for one item in one modality; a hybrid prompt on a conflict config shows the
    image of the puzzle with its twin's text."""
    texts = item.conflict_texts if modality == "hybrid" and item.conflict_texts else item.texts
    if modality in ("text", "hybrid") and text_format not in texts:
        raise PromptError(f"the dataset has no {text_format} text for item {item.id}")
    text = prompt_text(template, modality, text_format, texts.get(text_format, ""))
    shown = modality in IMAGE_MODALITIES
    content: list[dict[str, Any]] = [{"type": "image"}] if shown else []
    content.append({"type": "text", "text": text})
    return Prompt([{"role": "user", "content": content}], item.load_file() if shown else None)
