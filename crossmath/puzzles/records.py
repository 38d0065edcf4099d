"""The published record format: one JSON object per line, with the keys and layout of the CrossMath test set."""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from crossmath.puzzles.arith import operators_to_ascii
from crossmath.puzzles.model import Puzzle, PuzzleError, PuzzleInfo
from crossmath.puzzles.text import (
    from_markdown,
    markdown_answer,
    markdown_answer_step,
    solutions,
    solving_steps,
    to_markdown,
)

RECORD_KEYS = (
    "img", "img_blank", "problems", "operators", "difficulty", "range", "markdown_table", "markdown_answer",
    "markdown_answer_step", "solutions", "solving_steps",
)
"""The keys of a published record, in the published order."""


class RecordError(PuzzleError):
    """A records file line that is not a JSON object."""


def to_record(puzzle: Puzzle, *, img: str, img_blank: str) -> dict[str, Any]:
    """A solved puzzle as a published record, keys in the published order."""
    info = puzzle.info
    return {
        "img": img,
        "img_blank": img_blank,
        "problems": len(puzzle.equations),
        "operators": info.operators or operators_to_ascii(tuple(eq.op for eq in puzzle.equations)),
        "difficulty": info.difficulty,
        "range": list(info.number_range or _shown_range(puzzle)),
        "markdown_table": to_markdown(puzzle),
        "markdown_answer": markdown_answer(puzzle),
        "markdown_answer_step": markdown_answer_step(puzzle),
        "solutions": solutions(puzzle),
        "solving_steps": solving_steps(puzzle),
    }


def _shown_range(puzzle: Puzzle) -> tuple[int, int]:
    """The smallest and largest number of the grid: the range of a puzzle whose labels lack one."""
    shown = [v for _, v in puzzle.numbers if v is not None]
    return min(shown), max(shown)


def json_kind(value: Any) -> str:
    """How a message names the JSON type of a value: ``null``, ``a number``, ``text``, ``a list``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def whole_number_pair(value: Any) -> tuple[int, int] | None:
    """``value`` as a ``[lo, hi]`` pair of whole numbers (not true/false), or None when it is not one."""
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value):
        return value[0], value[1]
    return None


def puzzle_from_record(record: dict[str, Any], *, solve: bool = True) -> Puzzle:
    """The puzzle of a record (from its ``markdown_table``), labelled with its difficulty, range and operators.

    A ``range`` that is not two whole numbers, or an ``operators`` or ``difficulty`` that is not text, is left off
    the labels (it is metadata; the grid alone defines the puzzle)."""
    try:
        markdown = record["markdown_table"]
    except KeyError:
        raise RecordError("record has no markdown_table") from None
    if not isinstance(markdown, str):
        raise RecordError(f"markdown_table is {json_kind(markdown)}, not the text of a table")
    difficulty, operators = record.get("difficulty"), record.get("operators")
    info = PuzzleInfo(
        difficulty=difficulty if isinstance(difficulty, str) else None,
        number_range=whole_number_pair(record.get("range")),
        operators=operators if isinstance(operators, str) else None,
    )
    return from_markdown(markdown, solve=solve, info=info)


def parse_record_line(line: str | bytes, where: str) -> dict[str, Any]:
    """One JSONL line (text, or bytes in UTF-8) as a record; RecordError names ``where`` (``file:line``) when it
    is not UTF-8 or not a JSON object."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(f"{where}: not UTF-8 text (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                              "save the file as UTF-8") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise RecordError(f"{where}: JSON nested too deeply to be a record") from None
    except ValueError:  # an integer beyond Python's limit on digits converted from text
        raise RecordError(f"{where}: holds a number of more than {sys.get_int_max_str_digits()} digits, too long "
                          "to be a record's value") from None
    if not isinstance(record, dict):
        raise RecordError(f"{where}: a record is a JSON object, not {json_kind(record)}")
    return record


def iter_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a file as bytes, with their 1-based line numbers (a UTF-8 byte order mark at the
    start is dropped). Lines are decoded one by one (:func:`parse_record_line`), so one bad byte spoils only its
    own line."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            if line.strip():
                yield number, line


def iter_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record of a JSONL file with its line number; blank lines are skipped, a bad line raises RecordError."""
    for number, line in iter_lines(path):
        yield number, parse_record_line(line, f"{path}:{number}")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All records of a JSONL file."""
    return [record for _, record in iter_records(path)]


def record_line(record: dict[str, Any]) -> str:
    """One record as a JSONL line: UTF-8 text, signs as they are (``×``, ``÷``), ending in a newline."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_records(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Write records one JSON object per line."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(record_line(record) for record in records)
