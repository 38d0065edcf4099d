"""The crossmath command: generation output and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from crossmath.puzzles.text import from_markdown
from crossmath.puzzles.verify import check_record


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crossmath.cli", *args], capture_output=True, text=True)


def test_generate_markdown_prints_parseable_puzzles():
    out = run("generate", "--difficulty", "hard", "--count", "3", "--seed", "1", "--text-format", "markdown")
    assert out.returncode == 0, out.stderr
    tables = out.stdout.strip().split("\n\n")
    assert len(tables) == 3
    puzzles = [from_markdown(t) for t in tables]
    assert all(len(p.blanks) == len(p.equations) for p in puzzles)


def test_generate_jsonl_writes_sound_published_records(tmp_path):
    target = tmp_path / "set.jsonl"
    out = run("generate", "--difficulty", "medium", "--count", "4", "--seed", "2", "--text-format", "jsonl",
              "-o", str(target))
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["img_blank"] for r in records][:2] == ["test_images_blank_hr/math_puzzle_0001_blank.png",
                                                     "test_images_blank_hr/math_puzzle_0002_blank.png"]
    assert all(check_record(r) == [] for r in records)


def test_same_command_same_output():
    args = ("generate", "--difficulty", "easy", "--count", "5", "--seed", "7", "--text-format", "json")
    assert run(*args).stdout == run(*args).stdout


def test_impossible_settings_give_one_error_line():
    out = run("generate", "--difficulty", "hard", "--equations", "40", "--max-rows", "5", "--max-cols", "5")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "crossmath: error: 40 equations cannot fit in a 5x5 grid (at most 6)"]


def test_missing_file_gives_one_error_line(tmp_path):
    out = run("verify", str(tmp_path / "nope.jsonl"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("crossmath: error: no such file")


def test_help_lists_every_option():
    out = run("generate", "--help")
    for option in ("--difficulty", "--count", "--seed", "--text-format", "--equations", "--max-rows", "--operators",
                   "--range", "--blanks", "--depth", "--output"):
        assert option in out.stdout
