"""The published record format: one JSON object per line, with the keys and layout of the CrossMath test set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from crossmath.puzzles.arith import operators_to_ascii
from crossmath.puzzles.model import Puzzle, PuzzleError, PuzzleInfo
from crossmath.puzzles.text import from_markdown, markdown_answer, markdown_answer_step, solutions, solving_steps

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
    used = operators_to_ascii(tuple(eq.op for eq in puzzle.equations))
    number_range = info.number_range or (min(v for _, v in puzzle.numbers), max(v for _, v in puzzle.numbers))
    return {
        "img": img,
        "img_blank": img_blank,
        "problems": len(puzzle.equations),
        "operators": info.operators or used,
        "difficulty": info.difficulty,
        "range": list(number_range),
        "markdown_table": puzzle.to_markdown(),
        "markdown_answer": markdown_answer(puzzle),
        "markdown_answer_step": markdown_answer_step(puzzle),
        "solutions": solutions(puzzle),
        "solving_steps": solving_steps(puzzle),
    }


def puzzle_from_record(record: dict[str, Any], *, solve: bool = True) -> Puzzle:
    """The puzzle of a record (from its ``markdown_table``), labelled with its difficulty, range and operators."""
    try:
        markdown = record["markdown_table"]
    except KeyError:
        raise RecordError("record has no markdown_table") from None
    number_range = record.get("range")
    info = PuzzleInfo(
        difficulty=record.get("difficulty"),
        number_range=tuple(number_range) if isinstance(number_range, list) and len(number_range) == 2 else None,
        operators=record.get("operators"),
    )
    return from_markdown(markdown, solve=solve, info=info)


def parse_record_line(line: str, where: str) -> dict[str, Any]:
    """One JSONL line as a record; RecordError names ``where`` (``file:line``) when it is not a JSON object."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise RecordError(f"{where}: a record is a JSON object, not {type(record).__name__}")
    return record


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a text file with their 1-based line numbers."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
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
