"""Judging records in the published format, ours or anyone's: does each one hold together?

A record is sound when its grid follows the layout rules, its shown numbers have exactly one solution (proven by
search), the rounds solve every blank, and everything it stores about itself (answer, steps, solutions, solving
steps, equation count, number range, operator set) agrees with what its own grid implies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmath.puzzles.arith import canonical_operator
from crossmath.puzzles.model import Puzzle, PuzzleError
from crossmath.puzzles.records import RECORD_KEYS, RecordError, iter_lines, parse_record_line, puzzle_from_record
from crossmath.puzzles.solver import Solution
from crossmath.puzzles.text import layer_cells, solutions, solving_steps

_EQUATION = re.compile(r"\s*(-?\d+)\s*(\S)\s*(-?\d+)\s*=\s*(-?\d+)\s*")


def _normal_equation(text: str) -> str:
    """An equation string with spaces removed and any operator spelling made canonical."""
    match = _EQUATION.fullmatch(text)
    if match is None:
        return text.strip()
    a, op, b, c = match.groups()
    return f"{a}{canonical_operator(op) or op}{b}={c}"


def _layer(text: Any) -> list[str]:
    return layer_cells(text) if isinstance(text, str) else []


def check_record(record: dict[str, Any]) -> list[str]:
    """Every problem found in one record; an empty list means the record is sound."""
    missing = [key for key in RECORD_KEYS if key not in record]
    if "markdown_table" in missing:
        return ["no markdown_table"]
    problems = [f"missing keys: {', '.join(missing)}"] if missing else []
    try:
        puzzle = puzzle_from_record(record, solve=False)
        solution = puzzle.analysis
    except PuzzleError as exc:
        return problems + [str(exc)]
    if solution.unique is False:
        second = " ".join(str(solution.second[cell]) for cell in sorted(solution.second))  # type: ignore[index]
        return problems + [f"several solutions: {solution.answer} and {second}"]
    if solution.unique is None:
        problems.append("uniqueness undecided: the search ran out of budget")
    if not solution.complete:
        stuck = len(solution.values) - len(solution.steps)
        problems.append(f"the rounds leave {stuck} blank(s) unsolved: they can only be guessed")
    return problems + _stored_facts_problems(record, puzzle.with_solution(solution.values), solution)


def _stored_facts_problems(record: dict[str, Any], puzzle: Puzzle, solution: Solution) -> list[str]:
    problems = []
    answer = solution.answer.split()
    stored_answer = _layer(record.get("markdown_answer"))
    if "markdown_answer" in record and stored_answer != answer:
        problems.append(f"stored answer {' '.join(stored_answer)!r} disagrees with the grid's {' '.join(answer)!r}")
    if "markdown_answer_step" in record and solution.complete:
        expected = [f"step{solution.steps[cell]}" for cell in sorted(solution.steps)]
        stored = [s.replace(" ", "").lower() for s in _layer(record["markdown_answer_step"])]
        if stored != expected:
            problems.append(f"stored step levels {' '.join(stored)!r} disagree with the rounds' {' '.join(expected)!r}")
    if "solutions" in record:
        stored = "\n".join(_normal_equation(line) for line in str(record["solutions"]).strip().splitlines())
        if stored != solutions(puzzle):
            problems.append("stored solutions disagree with the solved grid")
    if "solving_steps" in record and solution.complete:
        stored_steps = record["solving_steps"]
        expected_steps = solving_steps(puzzle)
        if not isinstance(stored_steps, dict) or {
            key: [_normal_equation(str(eq)) for eq in value] for key, value in stored_steps.items()
        } != expected_steps:
            problems.append("stored solving_steps disagree with the rounds")
    if "problems" in record and record["problems"] != len(puzzle.equations):
        problems.append(f"problems is {record['problems']} but the grid has {len(puzzle.equations)} equations")
    values = [v for _, v in puzzle.numbers]
    number_range = record.get("range")
    if isinstance(number_range, list) and len(number_range) == 2:
        outside = sorted({v for v in values if not number_range[0] <= v <= number_range[1]})  # type: ignore[operator]
        if outside:
            problems.append(f"values {outside} lie outside the range {number_range}")
    operators = record.get("operators")
    if isinstance(operators, str):
        allowed = {canonical_operator(ch) for ch in operators}
        extra = sorted({eq.op for eq in puzzle.equations} - allowed)
        if extra:
            problems.append(f"operators {''.join(extra)} are used but not in the operator set {operators!r}")
    return problems


@dataclass(frozen=True)
class FileReport:
    """The outcome of checking a records file."""

    checked: int
    defects: list[tuple[int, list[str]]]
    """(line number, problems) for each defective record."""

    @property
    def ok(self) -> bool:
        return not self.defects

    def lines(self) -> list[str]:
        """One line per defective record, then a summary line."""
        out = [f"line {number}: {'; '.join(problems)}" for number, problems in self.defects]
        sound = self.checked - len(self.defects)
        out.append(f"checked {self.checked} records: {sound} sound, {len(self.defects)} defective")
        return out


def verify_file(path: str | Path) -> FileReport:
    """Check every record of a JSONL file in the published format."""
    checked = 0
    defects = []
    for number, line in iter_lines(path):
        checked += 1
        try:
            problems = check_record(parse_record_line(line, f"line {number}"))
        except RecordError as exc:
            problems = [str(exc).split(": ", 1)[1]]
        if problems:
            defects.append((number, problems))
    return FileReport(checked, defects)
