"""verify: every kind of defective record is caught, sound records pass, the command reports per line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crossmath import generate
from crossmath.puzzles.published_names import published_names
from crossmath.puzzles.records import read_records, to_record, write_records
from crossmath.puzzles.verify import check_record, verify_file


def record_of(difficulty: str = "medium", seed: int = 1, index: int = 0) -> dict:
    img, img_blank = published_names("original").image_names(index + 1)
    return to_record(generate(difficulty, seed=seed, index=index), img=img, img_blank=img_blank)


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_generated_records_are_sound(difficulty):
    for i in range(60):
        assert check_record(record_of(difficulty, seed=2, index=i)) == []


def _set(record: dict, key: str, value: object) -> dict:
    return {**record, key: value}


def _swap_first_answer(record: dict) -> dict:
    answer = record["markdown_answer"]
    first = next(t.strip() for t in answer.split("|") if t.strip())
    return _set(record, "markdown_answer", answer.replace(f" {first} ", f" {int(first) + 1} ", 1))


def _wrong_step(record: dict) -> dict:
    return _set(record, "markdown_answer_step", record["markdown_answer_step"].replace("step2", "step1", 1))


def _wrong_solution(record: dict) -> dict:
    lines = record["solutions"].split("\n")
    lines[1] = lines[1].split("=")[0] + "=" + str(int(lines[1].split("=")[1]) + 1)
    return _set(record, "solutions", "\n".join(lines))


def _wrong_steps(record: dict) -> dict:
    steps = dict(record["solving_steps"])
    steps["step1"] = steps["step1"][1:]
    return _set(record, "solving_steps", steps)


@pytest.mark.parametrize("corrupt, message", [
    (_swap_first_answer, "stored answer"),
    (_wrong_step, "stored step levels"),
    (_wrong_solution, "stored solutions disagree"),
    (_wrong_steps, "solving_steps disagree"),
    (lambda r: _set(r, "problems", r["problems"] + 1), "problems is"),
    (lambda r: _set(r, "range", [1, 2]), "outside the range"),
    (lambda r: _set(r, "operators", "+"), "not in the operator set"),
    (lambda r: {k: v for k, v in r.items() if k != "solutions"}, "missing keys: solutions"),
    (lambda r: _set(r, "markdown_table", "| ? | + | ? | = | 4 |"), "several solutions"),
    (lambda r: _set(r, "markdown_table", "| 7 | ÷ | 2 | = | ? |"), "no valid value"),
    (lambda r: _set(r, "markdown_table", "| 3 | - | 5 | = | ? |"), "no valid value"),
    (lambda r: _set(r, "markdown_table", "| 3 | + | 5 | = | 9 |"), "is false"),
    (lambda r: _set(r, "markdown_table", "| 3 | + | 5 |"), "has 3 cells"),
])
def test_defects_are_caught(corrupt, message):
    problems = check_record(corrupt(record_of("medium", seed=1)))
    assert any(message in p for p in problems), problems


def test_a_puzzle_the_rounds_cannot_finish_is_flagged():
    record = {"markdown_table": "\n".join(["| ? | + | ? | = | 3 |", "| - |   |   |   |   |", "| 1 |   |   |   |   |",
                                           "| = |   |   |   |   |", "| ? |   |   |   |   |"])}
    problems = check_record(record)
    assert any("can only be guessed" in p for p in problems)


def test_operator_glyph_variants_are_not_defects():
    record = record_of("hard", seed=3)
    ascii_record = {**record,
                    "markdown_table": record["markdown_table"].replace("×", "*").replace("÷", "/"),
                    "solutions": record["solutions"].replace("×", "x").replace("÷", ":")}
    assert check_record(ascii_record) == []


def test_file_report_and_command(tmp_path):
    path = tmp_path / "testset.jsonl"
    good = [record_of("hard", seed=4, index=i) for i in range(3)]
    bad = _set(good[1], "problems", 99)
    write_records(path, [good[0], bad, good[2]])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n{not json\n")
    report = verify_file(path)
    assert report.checked == 4 and [n for n, _ in report.defects] == [5] and [n for n, _ in report.warnings] == [2]
    out = subprocess.run([sys.executable, "-m", "crossmath.cli", "verify", str(path)], capture_output=True, text=True)
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("line 2: warning: problems is 99")
    assert lines[1].startswith("line 5: defect: not valid JSON")
    assert lines[-1] == "checked 4 records: 3 sound, 1 defective; 1 with warnings"


def test_sound_file_exits_zero(tmp_path):
    path = tmp_path / "ok.jsonl"
    records = [record_of("easy", seed=5, index=i) for i in range(4)]
    write_records(path, records)
    # one object per line, signs as they are; and what is read back is what was written
    assert path.read_text(encoding="utf-8").splitlines() == [json.dumps(r, ensure_ascii=False) for r in records]
    assert read_records(path) == records
    out = subprocess.run([sys.executable, "-m", "crossmath.cli", "verify", str(path)], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == "checked 4 records: 4 sound, 0 defective; 0 with warnings"


def test_reader_skips_blank_lines_and_names_a_bad_line(tmp_path):
    from crossmath.puzzles.records import RecordError
    path = tmp_path / "r.jsonl"
    path.write_text('\n{"a": 1}\n\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(RecordError, match=r"r.jsonl:4: a record is a JSON object"):
        read_records(path)
