"""Conflict configs: twins that differ from their puzzle in few shown numbers, the test-only ``<style>-conflict``
configs of ``crossmath-build --conflict``, hybrid runs that send A's image with B's text, and the reliance the
report recovers from a real answer server that plants it."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import yaml

from crossmath import generate
from crossmath.dataset import BuildSettings, build
from crossmath.dataset.cli import main as build_main
from crossmath.dataset.files import read_json
from crossmath.dataset.items import puzzle_at
from crossmath.eval import cli as eval_cli
from crossmath.eval.backends import openai_backend
from crossmath.eval.prompts import DEFAULT_TEMPLATES, build_prompt
from crossmath.eval.sources import load_items
from crossmath.puzzles.records import to_record
from crossmath.puzzles.text import from_markdown
from crossmath.puzzles.twins import make_twin
from crossmath.puzzles.verify import check_record
from crossmath.render import STYLES
from crossmath.report.report import gap_report
from crossmath.testing.answer_server import AnswerServer


def _build(out: Path, *args: str) -> int:
    return build_main(["--out", str(out), "--num-proc", "1", "--no-progress", *args])


@pytest.fixture(scope="module")
def conflict_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("conflict") / "ds"
    assert _build(out, "--train-size", "3", "--test-size", "24", "--styles", "original,beige", "--conflict") == 0
    return out


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_twins_are_sound_unique_and_differ_in_few_shown_numbers(difficulty):
    for index in range(25):
        a = generate(difficulty, seed=5, index=index)
        twin = make_twin(a, seed=5)
        b = twin.puzzle
        assert check_record(to_record(b, img="x.png", img_blank="y.png")) == []  # the verifier: sound and unique
        assert b.analysis is not None and b.analysis.unique is True
        assert (b.rows, b.cols, b.equations, b.blanks) == (a.rows, a.cols, a.equations, a.blanks)
        changed = tuple(cell for cell, value in a.givens.items() if b.givens[cell] != value)
        assert changed == twin.cells and 1 <= len(changed) <= 4
        assert b.answer != a.answer
        assert make_twin(a, seed=5) == twin  # deterministic


def test_every_twin_of_the_default_test_split_passes_the_verifier():
    settings = BuildSettings(train_size=0, test_size=250)
    changed = []
    for position in range(settings.test_size):
        a, _ = puzzle_at(settings, "test", position, frozenset())
        twin = make_twin(a, seed=settings.seed)
        assert check_record(to_record(twin.puzzle, img="x.png", img_blank="y.png")) == []
        changed.append(len(twin.cells))
    assert min(changed) == 1 and max(changed) <= 4 and changed.count(1) > 0.9 * len(changed)


def test_conflict_configs_show_a_in_the_image_and_b_in_the_text(conflict_data):
    card = (conflict_data / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    splits = {c["config_name"]: [f["split"] for f in c["data_files"]] for c in header["configs"]}
    assert splits == {"original": ["train", "test"], "beige": ["train", "test"],
                      "original-conflict": ["test"], "beige-conflict": ["test"]}
    manifest = read_json(conflict_data / "crossmath_build.json")
    assert manifest["rows"] == 2 * 27 + 2 * 24
    changes = manifest["conflict_changes"]
    assert sum(changes.values()) == 24 and set(changes) <= {"1", "2", "3", "4"}
    assert "Shown numbers that differ between A and B: 1 in" in card
    for style in ("original", "beige"):
        plain = datasets.load_dataset(str(conflict_data), style, split="test")
        conflict = datasets.load_dataset(str(conflict_data), f"{style}-conflict", split="test")
        assert conflict.column_names == [
            *plain.column_names, "conflict_markdown_table", "conflict_grid_json", "conflict_grid_csv",
            "conflict_grid_cells", "conflict_answer", "conflict_cells"]
        for p, c in zip(plain, conflict, strict=True):
            assert (c["id"], c["answer"], c["markdown_table"], c["image"].tobytes()) == (
                p["id"], p["answer"], p["markdown_table"], p["image"].tobytes())
            a = from_markdown(c["markdown_table"], solve=True)
            b = from_markdown(c["conflict_markdown_table"], solve=True)
            assert b.answer == c["conflict_answer"] != c["answer"]
            assert [list(cell) for cell, v in a.givens.items() if b.givens[cell] != v] == c["conflict_cells"]
            assert a.blanks == b.blanks and a.equations == b.equations
            assert b.analysis is not None and b.analysis.unique is True
            # a table carries no difficulty: the row's is B's too
            record = {**to_record(b, img="x.png", img_blank="y.png"), "difficulty": c["difficulty"]}
            assert check_record(record) == []
    items = load_items(str(conflict_data), "original-conflict", "test")
    hybrid = build_prompt(items[0], "hybrid", "json", DEFAULT_TEMPLATES["hybrid"])
    text = build_prompt(items[0], "text", "json", DEFAULT_TEMPLATES["text"])
    shown = hybrid.messages[0]["content"][-1]["text"]
    assert items[0].conflict_texts["json"] in shown and items[0].texts["json"] not in shown
    assert hybrid.image_file == items[0].load_file()
    assert items[0].texts["json"] in text.messages[0]["content"][-1]["text"]


def test_a_conflict_build_is_reproducible(conflict_data, tmp_path):
    again = tmp_path / "again"
    assert _build(again, "--train-size", "3", "--test-size", "24", "--styles", "original,beige", "--conflict") == 0
    assert (read_json(again / "crossmath_build.json")["fingerprint"]
            == read_json(conflict_data / "crossmath_build.json")["fingerprint"])
    plain = build(tmp_path / "plain", BuildSettings(train_size=3, test_size=24,
                                                    styles=(STYLES["original"], STYLES["beige"])), progress=False)
    assert plain.fingerprint != read_json(again / "crossmath_build.json")["fingerprint"]
    for k in (1, 2):  # the test chunk and the train chunk built apart, then merged
        assert _build(tmp_path / f"shard{k}", "--train-size", "3", "--test-size", "24", "--styles", "original,beige",
                      "--conflict", "--shard", f"{k}/2") == 0
    assert build_main(["--out", str(tmp_path / "merged"), "--merge", str(tmp_path / "shard1"),
                       str(tmp_path / "shard2")]) == 0
    merged = read_json(tmp_path / "merged" / "crossmath_build.json")
    assert merged["fingerprint"] == read_json(again / "crossmath_build.json")["fingerprint"]
    assert merged["conflict_changes"] == read_json(again / "crossmath_build.json")["conflict_changes"]


@pytest.mark.parametrize("q", [0.0, 0.6, 1.0])
def test_the_report_recovers_exactly_the_planted_reliance(conflict_data, tmp_path, monkeypatch, q):
    monkeypatch.setattr(openai_backend, "BACKOFF_BASE", 0.1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    items = load_items(str(conflict_data), "original-conflict", "test")
    with AnswerServer(items, q=q) as server:
        for modality in ("text", "hybrid"):
            assert eval_cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                                  "--dataset", str(conflict_data), "--style", "original-conflict", "--modality",
                                  modality, "--output", str(tmp_path), "--no-progress"]) == 0
    planted = [kind for choices in server.stats.planted.values() for kind in choices]
    assert len(server.stats.planted) == len(items) and planted
    runs = [tmp_path / "crossmath-answers" / f"original-conflict-{m}" for m in ("text", "hybrid")]
    gap_report(runs, tmp_path / "report")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    [reliance] = summary["reliance"]
    assert reliance["style"] == "original-conflict" and reliance["blanks"] == len(planted)
    assert reliance["counts"] == {"image": planted.count("image"), "text": planted.count("text"), "neither": 0}
    assert reliance["image"]["mean"] == round(100 * planted.count("image") / len(planted), 6)
    assert reliance["image"]["low"] <= reliance["image"]["mean"] <= reliance["image"]["high"]
    if q in (0.0, 1.0):
        assert reliance["image"]["mean"] == 100 * q and reliance["text"]["mean"] == 100 * (1 - q)
    else:
        assert 0 < planted.count("image") < len(planted)
    assert "Which modality the model follows" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--train-size", "5", "--test-size", "0", "--conflict"],
     "--conflict makes test-only configs: it needs a test split"),
    (["--test-size", "2", "--conflict", "--vary", "font_size=18,30"], "it cannot be combined with --vary"),
    (["--test-size", "2", "--conflict", "--format", "crossmath-jsonl"], "written as Hugging Face data only"),
])
def test_conflict_misuse_is_one_error_line(tmp_path, capsys, args, message):
    out = tmp_path / "x"
    code = _build(out, "--train-size", "0", *args)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1 and message in err
    assert not out.exists() and not out.with_name("x.partial").exists()
