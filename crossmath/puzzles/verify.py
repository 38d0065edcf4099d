"""Judging records in the published format, ours or anyone's: does each one hold together?

A record is sound when its grid follows the layout rules, its shown numbers are whole numbers from 1 up with
exactly one solution (proven by search), it has blanks, the rounds solve every blank, and what it stores about its
answer (answer, step levels, solutions, solving steps) agrees with what its own grid implies. Anything else is a
**defect**. Stored metadata that disagrees with the grid but leaves the puzzle and its answer sound (``problems``,
``range``, ``operators``, missing image paths) is a **warning**.

Work per record is bounded: grids beyond :data:`~crossmath.puzzles.model.MAX_SIDE` cells per side and numbers
beyond :data:`~crossmath.puzzles.model.MAX_DIGITS` digits are refused, and the uniqueness search tries at most
:data:`VERIFY_MAX_NODES` branches, fewer on grids beyond :data:`SEARCH_EQUATIONS` equations (past that,
"uniqueness undecided" is the record's defect).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossmath.puzzles.arith import canonical_operator
from crossmath.puzzles.model import Analysis, Puzzle, PuzzleError
from crossmath.puzzles.records import (
    RECORD_KEYS,
    RecordError,
    iter_lines,
    json_kind,
    parse_record_line,
    puzzle_from_record,
    whole_number_pair,
)
from crossmath.puzzles.solver import solve
from crossmath.puzzles.text import layer_cells, solutions, solving_steps

VERIFY_MAX_NODES = 20_000
"""Branches the uniqueness search may try on a record of up to :data:`SEARCH_EQUATIONS` equations; a larger grid
gets proportionally fewer, since each branch costs a pass over every equation. A puzzle the rounds solve needs no
branch at all; a crafted grid the rounds cannot solve took 1.4 s per record with the solver's default of 200,000
branches, and stays under a few tenths of a second at any size with this budget."""

SEARCH_EQUATIONS = 24

ANSWER_KEYS = ("markdown_answer", "markdown_answer_step", "solutions", "solving_steps")
"""Keys that carry the answer: a missing one is a defect (the record cannot be scored); other keys are metadata."""

_EQUATION = re.compile(r"\s*(-?\d+)\s*(\S)\s*(-?\d+)\s*=\s*(-?\d+)\s*")


@dataclass(frozen=True)
class Findings:
    """What is wrong with one record: defects (it is unsound or its answer is wrong) and warnings (metadata)."""

    defects: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _normal_equation(text: str) -> str:
    """An equation string with spaces removed and any operator spelling made canonical."""
    match = _EQUATION.fullmatch(text)
    if match is None:
        return text.strip()
    a, op, b, c = match.groups()
    return f"{a}{canonical_operator(op) or op}{b}={c}"


def _shown(value: Any) -> str:
    """A stored value as a message quotes it: its JSON, cut short."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def check_record(record: dict[str, Any]) -> list[str]:
    """Every problem found in one record, defects then warnings; an empty list means the record is clean."""
    findings = judge_record(record)
    return findings.defects + findings.warnings


def judge_record(record: dict[str, Any], *, max_nodes: int = VERIFY_MAX_NODES) -> Findings:
    """The defects and warnings of one record."""
    findings = Findings()
    if "markdown_table" not in record:
        findings.defects.append("no markdown_table")
        return findings
    missing = [key for key in RECORD_KEYS if key not in record]
    for kind, keys in ((findings.defects, [k for k in missing if k in ANSWER_KEYS]),
                       (findings.warnings, [k for k in missing if k not in ANSWER_KEYS])):
        if keys:
            kind.append(f"missing keys: {', '.join(keys)}")
    try:
        puzzle = puzzle_from_record(record, solve=False)
        findings.defects.extend(_not_a_puzzle(puzzle))
        max_nodes = max_nodes * SEARCH_EQUATIONS // max(SEARCH_EQUATIONS, len(puzzle.equations))
        analysis = solve(puzzle, max_nodes=max_nodes)
    except PuzzleError as exc:
        findings.defects.append(str(exc))
        return findings
    if analysis.unique is False:
        second_values = analysis.second or {}
        second = " ".join(str(second_values[cell]) for cell in sorted(second_values))
        findings.defects.append(f"several solutions: {analysis.answer} and {second}")
        return findings
    if analysis.unique is None:
        findings.defects.append(f"uniqueness undecided: the search ran out of its budget of {max_nodes} branches")
    if not analysis.complete:
        stuck = len(analysis.values) - len(analysis.steps)
        findings.defects.append(f"the rounds leave {stuck} blank(s) unsolved: they can only be guessed")
    solved = puzzle.with_analysis(analysis)
    findings.defects.extend(_stored_answer_defects(record, solved, analysis))
    findings.warnings.extend(_metadata_warnings(record, solved))
    return findings


def _not_a_puzzle(puzzle: Puzzle) -> list[str]:
    """What makes a well-formed grid no puzzle: shown numbers below 1, or nothing to solve."""
    defects = [f"shown number {value} at row {r}, column {c} is not a whole number from 1 up"
               for (r, c), value in puzzle.numbers if value is not None and value < 1]
    if not puzzle.blanks:
        defects.append("the puzzle has no blanks: there is nothing to solve")
    return defects


def _text_of(record: dict[str, Any], key: str, defects: list[str]) -> str | None:
    """The stored text under ``key`` (None when absent); a value that is not text is a defect."""
    value = record.get(key)
    if key in record and not isinstance(value, str):
        defects.append(f"{key} is {json_kind(value)}, not text")
        return None
    return value


def _stored_answer_defects(record: dict[str, Any], puzzle: Puzzle, analysis: Analysis) -> list[str]:
    defects: list[str] = []
    answer = analysis.answer.split()
    stored_answer = _text_of(record, "markdown_answer", defects)
    if stored_answer is not None and layer_cells(stored_answer) != answer:
        defects.append(f"stored answer {' '.join(layer_cells(stored_answer))!r} disagrees with the grid's "
                       f"{' '.join(answer)!r}")
    stored_steps = _text_of(record, "markdown_answer_step", defects)
    if stored_steps is not None and analysis.complete:
        expected = [f"step{analysis.steps[cell]}" for cell in sorted(analysis.steps)]
        stored = [s.replace(" ", "").lower() for s in layer_cells(stored_steps)]
        if stored != expected:
            defects.append(f"stored step levels {' '.join(stored)!r} disagree with the rounds' {' '.join(expected)!r}")
    stored_solutions = _text_of(record, "solutions", defects)
    if stored_solutions is not None:
        normal = "\n".join(_normal_equation(line) for line in stored_solutions.strip().splitlines())
        if normal != solutions(puzzle):
            defects.append("stored solutions disagree with the solved grid")
    if "solving_steps" in record and analysis.complete:
        defects.extend(_solving_steps_defects(record["solving_steps"], solving_steps(puzzle)))
    return defects


def _solving_steps_defects(stored: Any, expected: dict[str, list[str]]) -> list[str]:
    if not isinstance(stored, dict) or not all(
            isinstance(value, list) and all(isinstance(eq, str) for eq in value) for value in stored.values()):
        return [f"solving_steps is {json_kind(stored)}, not an object of step names to lists of equations"
                if not isinstance(stored, dict) else "solving_steps holds values that are not lists of equations"]
    if {key: [_normal_equation(eq) for eq in value] for key, value in stored.items()} != expected:
        return ["stored solving_steps disagree with the rounds"]
    return []


def _metadata_warnings(record: dict[str, Any], puzzle: Puzzle) -> list[str]:
    warnings = []
    if "problems" in record:
        problems = record["problems"]
        if type(problems) is not int:
            warnings.append(f"problems is {_shown(problems)} ({json_kind(problems)}), not a whole number")
        elif problems != len(puzzle.equations):
            warnings.append(f"problems is {problems} but the grid has {len(puzzle.equations)} equations")
    if "range" in record:
        number_range = whole_number_pair(record["range"])
        values = [v for _, v in puzzle.numbers if v is not None]
        if number_range is None:
            warnings.append(f"range is {_shown(record['range'])}, not a pair of whole numbers [min, max]")
        else:
            outside = sorted({v for v in values if not number_range[0] <= v <= number_range[1]})
            if outside:
                warnings.append(f"values {outside[:10]} lie outside the range {list(number_range)}")
    if "operators" in record:
        warnings.extend(_operator_warnings(record["operators"], puzzle))
    if "difficulty" in record and not isinstance(record["difficulty"], str):
        difficulty = record["difficulty"]
        warnings.append(f"difficulty is {_shown(difficulty)} ({json_kind(difficulty)}), not text such as \"medium\"")
    return warnings


def _operator_warnings(operators: Any, puzzle: Puzzle) -> list[str]:
    if not isinstance(operators, str):
        return [f"operators is {_shown(operators)} ({json_kind(operators)}), not text such as \"+-*/\""]
    allowed = {canonical_operator(ch) for ch in operators}
    extra = sorted({eq.op for eq in puzzle.equations} - allowed)
    if extra:
        return [f"operators {''.join(extra)} are used but not in the operator set {operators!r}"]
    return []


def iter_findings(path: str | Path) -> Iterator[tuple[int, Findings]]:
    """Each record of a JSONL file with its line number and findings, one at a time (so a caller can show them
    as they come, and keeps what it has seen when stopped). A line that is not a JSON object is a defect."""
    for number, line in iter_lines(path):
        try:
            record = parse_record_line(line, f"line {number}")
        except RecordError as exc:
            yield number, Findings([str(exc).split(": ", 1)[1]])
            continue
        yield number, judge_record(record)


@dataclass
class FileReport:
    """The outcome of checking a records file, so far."""

    checked: int = 0
    defects: list[tuple[int, list[str]]] = field(default_factory=list)
    """(line number, defects) for each defective record."""
    warnings: list[tuple[int, list[str]]] = field(default_factory=list)
    """(line number, warnings) for each record with warnings."""

    def add(self, number: int, findings: Findings) -> list[str]:
        """Count one record; returns its lines to show (one per kind of finding)."""
        self.checked += 1
        lines = []
        if findings.defects:
            self.defects.append((number, findings.defects))
            lines.append(f"line {number}: defect: {'; '.join(findings.defects)}")
        if findings.warnings:
            self.warnings.append((number, findings.warnings))
            lines.append(f"line {number}: warning: {'; '.join(findings.warnings)}")
        return lines

    def ok(self, *, strict: bool = False) -> bool:
        """No defects (and, with ``strict``, no warnings either)."""
        return not self.defects and not (strict and self.warnings)

    def summary(self) -> str:
        sound = self.checked - len(self.defects)
        return (f"checked {self.checked} records: {sound} sound, {len(self.defects)} defective; "
                f"{len(self.warnings)} with warnings")


def verify_file(path: str | Path) -> FileReport:
    """Check every record of a JSONL file in the published format."""
    report = FileReport()
    for number, findings in iter_findings(path):
        report.add(number, findings)
    return report
