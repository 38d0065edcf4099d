"""crossmath-eval's input checks: scoring that refuses predictions of another dataset, file kinds by content, one
clear line for every bad input, reports that never merge runs of different settings, checks before torch loads.

Run folders come from the OpenAI engine against a local answer server, so no model (and no torch) is needed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eval_errors import error_of

from crossmath.eval import cli
from crossmath.eval.sources import load_items
from crossmath.testing.answer_server import AnswerServer

REPO = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def runs(eval_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Text runs over the first 3 puzzles in markdown and in JSON, and image runs, of one served model."""
    out = tmp_path_factory.mktemp("runs")
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items) as server:
        for text_format, folder in (("markdown", "md"), ("json", "json")):
            assert cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                             "--dataset", str(eval_dataset), "--modality", "text,image", "--limit", "3",
                             "--text-format", text_format, "--output", str(out / folder), "--no-progress"]) == 0
    return out


def test_score_refuses_predictions_of_another_dataset_and_counts_unpredicted(runs, eval_dataset, tmp_path, capsys):
    folder = runs / "md" / "crossmath-answers" / "original-text"
    assert cli.main(["score", "--dataset", str(eval_dataset), str(folder / "predictions.jsonl")]) == 0
    assert "puzzles without a prediction 3" in capsys.readouterr().out
    published = eval_dataset / "published" / "data" / "Original" / "testset_hr.jsonl"
    assert "answers another dataset" in error_of(capsys, "score", "--dataset", str(published),
                                                 str(folder / "predictions.jsonl"))
    loose = tmp_path / "predictions.jsonl"  # no config.json beside it: the ids must still belong to the dataset
    shutil.copy(folder / "predictions.jsonl", loose)
    assert "are not in" in error_of(capsys, "score", "--dataset", str(published), str(loose))


def test_score_judges_files_by_content_and_names_bad_lines(runs, eval_dataset, tmp_path, capsys):
    lines = (runs / "md" / "crossmath-answers" / "original-text" / "predictions.jsonl").read_text().splitlines()
    garbage_first = tmp_path / "garbage_first.jsonl"
    garbage_first.write_text("\n".join(["garbage", *lines]) + "\n")
    assert f"{garbage_first}:1: not a JSON line" in error_of(capsys, "score", "--dataset", str(eval_dataset),
                                                              str(garbage_first))
    wrong_type = tmp_path / "wrong_type.jsonl"
    wrong_type.write_text("\n".join([*lines[:2], lines[2].replace('"answer": "', '"answer": 5, "x": "')]) + "\n")
    assert f"{wrong_type}:3: id and answer must be text" in error_of(capsys, "score", "--dataset",
                                                                     str(eval_dataset), str(wrong_type))
    empty = tmp_path / "empty.log"
    empty.write_text("\n")
    assert "is empty" in error_of(capsys, "score", "--dataset", str(eval_dataset), str(empty))


def test_published_ids_stay_unique_when_image_names_repeat(eval_dataset, tmp_path):
    from crossmath.puzzles.records import read_records, write_records

    source = eval_dataset / "published" / "data" / "Original"
    records = read_records(source / "testset_hr.jsonl")[:2]
    for folder, record in zip(("a", "b"), records):
        (tmp_path / folder).mkdir()
        shutil.copy(source / record["img_blank"], tmp_path / folder / "math_puzzle_0001_blank.png")
        record["img_blank"] = f"{folder}/math_puzzle_0001_blank.png"
    write_records(tmp_path / "mixed.jsonl", records)
    items = load_items(str(tmp_path / "mixed.jsonl"), "original", "test")
    assert [item.id for item in items] == ["a/math_puzzle_0001", "b/math_puzzle_0001"]
    assert items[0].image().tobytes() != items[1].image().tobytes()  # each read from its own folder


def test_report_keeps_runs_of_different_settings_apart(runs, tmp_path, capsys):
    folders = [str(runs / name / "crossmath-answers" / f"original-{m}") for name in ("md", "json")
               for m in ("text", "image")]
    capsys.readouterr()
    assert cli.main(["report", *folders, "--out", str(tmp_path / "report")]) == 0
    table = capsys.readouterr().out
    assert "| crossmath-answers [text_format=markdown] | original |" in table
    assert "| crossmath-answers [text_format=json] | original |" in table
    duplicate = tmp_path / "copy"
    shutil.copytree(folders[0], duplicate)
    assert "are runs of the same settings" in error_of(capsys, "report", folders[0], str(duplicate))


def test_report_input_errors_are_one_line(runs, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(runs / "md" / "crossmath-answers" / "original-text", folder)
    (folder / "predictions.jsonl").write_text("")
    assert "no answered predictions" in error_of(capsys, "report", str(folder))
    assert "not a readable crossmath-eval run folder" in error_of(capsys, "report", str(tmp_path / "nothing"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "modality": 5}))
    assert "needs a style (text) and a modality" in error_of(capsys, "report", str(folder))
    (folder / "config.json").write_text("{")
    assert "config.json: not valid JSON" in error_of(capsys, "report", str(folder))


def test_a_bad_model_path_fails_before_torch_loads(eval_dataset, tmp_path):
    code = ("import sys; from crossmath.eval.cli import main; "
            f"code = main(['run', '--model', {str(tmp_path / 'none')!r}, '--dataset', {str(eval_dataset)!r}]); "
            "print(code, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert out.stdout.split() == ["2", "False"], out.stderr
    assert out.stderr.strip() == f"crossmath-eval: error: cannot load model {str(tmp_path / 'none')!r}: no such folder"


def test_revisions_come_from_the_hub_cache_snapshot(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from crossmath.eval.backends.transformers_backend import model_revision
    from crossmath.eval.sources import source_revision

    sha = "0123456789abcdef0123456789abcdef01234567"
    for kind, repo, name in (("datasets", "you--crossmath", "README.md"), ("models", "org--tiny-vlm", "config.json")):
        snapshot = tmp_path / f"{kind}--{repo}" / "snapshots" / sha
        snapshot.mkdir(parents=True)
        (snapshot / name).write_text("{}")
        (tmp_path / f"{kind}--{repo}" / "refs").mkdir()
        (tmp_path / f"{kind}--{repo}" / "refs" / "main").write_text(sha)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert source_revision("you/crossmath") == sha and model_revision("org/tiny-vlm") == sha
    assert model_revision(str(tmp_path / "models--org--tiny-vlm" / "snapshots" / sha)) == sha
    assert source_revision(str(tmp_path)) is None and model_revision("org/not-cached") is None
