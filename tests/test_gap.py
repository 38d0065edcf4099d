"""Why the gap, end to end through the real engines: transcription runs scored cell by cell, two-stage solving from
a transcription, and the decomposition in the report, recovered exactly from a served model with planted
misreadings (the answer server's ``misread=p``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from crossmath.eval import cli
from crossmath.eval.sources import load_items
from crossmath.eval.transcripts import blank_equation_cells, kind_of, true_grid
from crossmath.testing.answer_server import AnswerServer

P, SEED = 0.25, 3


@pytest.fixture(scope="module")
def planted(eval_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AnswerServer]:
    """Text, image, transcribe and two-stage runs of a served model that misreads each shown number with
    probability P, and the server (to ask what it planted)."""
    out = tmp_path_factory.mktemp("gap-runs")
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items, misread=P, seed=SEED) as server:
        assert cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                         "--dataset", str(eval_dataset), "--modality", "text,image,two-stage",
                         "--output", str(out), "--no-progress"]) == 0
    return out / server.model, server


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def mean(values: list[float]) -> float:
    return 100 * sum(values) / len(values)


def test_the_planted_reading_is_recovered_exactly(planted, eval_dataset):
    folder, server = planted
    items = load_items(str(eval_dataset), "original", "test")
    numbers, cells, exact = [], [], []
    for item in items:
        truth = true_grid(item.texts["markdown"])
        shown = sum(kind_of(t) == "numbers" for row in truth for t in row if t)
        filled = sum(bool(t) for row in truth for t in row)
        wrong = len(server.misreads(item.id))
        numbers.append(1 - wrong / shown)
        cells.append(1 - wrong / filled)
        exact.append(float(wrong == 0))
    assert 0 < mean(exact) < 100, "the seed must plant misreadings in some puzzles and not in others"
    metrics = json.loads((folder / "original-transcribe" / "metrics.json").read_text())
    read = metrics["read"]
    assert read["numbers"]["mean"] == pytest.approx(mean(numbers), abs=1e-6)
    assert read["cells"]["mean"] == pytest.approx(mean(cells), abs=1e-6)
    assert read["grid_exact"]["mean"] == pytest.approx(mean(exact), abs=1e-6)
    for name in ("operators", "equals", "blanks", "shape"):
        assert read[name]["mean"] == 100
    assert read["extra"]["mean"] == 0
    assert read["numbers"]["low"] <= read["numbers"]["mean"] <= read["numbers"]["high"]
    assert read["numbers"]["n"] == len(items) and set(read["by_difficulty"]) == {"easy", "medium", "hard"}
    predictions = {p["id"]: p for p in read_jsonl(folder / "original-transcribe" / "predictions.jsonl")}
    for item in items:
        assert [tuple(m) for m in predictions[item.id]["read"]["misread"]] == server.misreads(item.id)
    digits = Counter((t[-1], r[-1]) for item in items for _, _, t, r in server.misreads(item.id))
    listed = {(c["true"], c["read"]): c["count"] for c in read["confusions"]}
    assert listed == dict(digits)


def test_two_stage_and_the_decomposition_recover_the_planted_losses(planted, eval_dataset):
    folder, server = planted
    items = load_items(str(eval_dataset), "original", "test")
    shares, wrong = [], 0
    for item in items:
        misread = {(r, c) for r, c, _, _ in server.misreads(item.id)}
        right = [not (cells & misread) for cells in blank_equation_cells(true_grid(item.texts["markdown"]))]
        shares.append(sum(right) / len(right))
        wrong += not all(right)
    assert wrong, "the seed must make some answers wrong"
    config = json.loads((folder / "original-two-stage" / "config.json").read_text())
    assert config["transcripts"]["run"] == str((folder / "original-transcribe").resolve())
    summary = json.loads((folder / "report" / "summary.json").read_text())
    split = summary["decomposition"]["crossmath-answers"]["original"]
    assert set(split) == {"text", "two_stage", "image", "perception_loss", "integration_loss",
                          "explained_by_misreading"}
    assert split["text"]["micro"]["mean"] == 100
    assert split["two_stage"]["micro"]["mean"] == pytest.approx(mean(shares), abs=1e-6)
    assert split["perception_loss"]["micro"]["mean"] == pytest.approx(100 - mean(shares), abs=1e-6)
    assert split["perception_loss"]["macro"]["mean"] == pytest.approx(100 * wrong / len(items), abs=1e-6)
    for metric in ("micro", "macro"):
        assert split["integration_loss"][metric]["mean"] == 0
        assert split["integration_loss"][metric]["low"] == split["integration_loss"][metric]["high"] == 0
    assert split["explained_by_misreading"] == {"wrong": wrong, "explained": wrong, "share": 100.0}
    effort = summary["effort"]["crossmath-answers"]["original"]
    assert effort["modalities"]["image"]["shows_work"] == 0
    assert effort["image_over_text"]["prompt_tokens"] > 1  # the image costs more than its table
    report = (folder / "report" / "report.md").read_text()
    assert "Why the gap" in report and "decomposition.png" in report
    assert (folder / "report" / "decomposition.svg").is_file()
