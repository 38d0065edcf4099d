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


def test_score_rescores_a_transcribe_run_as_the_run_did(planted, eval_dataset, capsys):
    folder, _ = planted
    capsys.readouterr()
    assert cli.main(["score", "--dataset", str(eval_dataset), "--json",
                     str(folder / "original-transcribe" / "predictions.jsonl")]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["read"] == json.loads((folder / "original-transcribe" / "metrics.json").read_text())["read"]
    assert "not both" in error_of(capsys, "score", "--dataset", str(eval_dataset),
                                  str(folder / "original-transcribe" / "predictions.jsonl"),
                                  str(folder / "original-text" / "predictions.jsonl"))


def test_two_stage_samples_solve_their_own_transcription_and_resume_asks_for_nothing(eval_dataset, tmp_path):
    items = load_items(str(eval_dataset), "original", "test")
    argv = ["run", "--backend", "openai", "--model", AnswerServer.MODEL, "--dataset", str(eval_dataset), "--limit",
            "2", "--modality", "two-stage", "--num-samples", "2", "--temperature", "0.7", "--output", str(tmp_path),
            "--no-progress"]
    with AnswerServer(items, misread=P, seed=SEED) as server:
        assert cli.main([*argv, "--base-url", server.url]) == 0
        asked = server.stats.requests
        assert cli.main([*argv, "--base-url", server.url, "--resume"]) == 0
        assert server.stats.requests == asked
    rows = read_jsonl(tmp_path / server.model / "original-two-stage" / "predictions.jsonl")
    assert sorted((r["id"], r["sample"], r["transcript"]["sample"]) for r in rows) == \
        [(item.id, s, s) for item in items[:2] for s in (0, 1)]


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


def test_transformers_transcribes_and_solves_its_own_or_another_models_reading(planted, tiny_models, eval_dataset,
                                                                                 tmp_path):
    folder, server = planted
    common = ["run", "--no-progress", "--max-new-tokens", "6", "--model", tiny_models["qwen"], "--dataset",
              str(eval_dataset), "--output", str(tmp_path)]
    assert cli.main([*common, "--modality", "two-stage", "--limit", "2"]) == 0  # its own reading first
    own = tmp_path / "tiny-qwen2-vl"
    transcribed = {r["id"]: r for r in read_jsonl(own / "original-transcribe" / "predictions.jsonl")}
    assert len(transcribed) == 2 and all(set(r["read"]) >= {"misread", "shape_ok", "parsed"}
                                         for r in transcribed.values())
    metrics = json.loads((own / "original-transcribe" / "metrics.json").read_text())
    assert metrics["puzzles"] == 2 and set(metrics["read"]) >= {"cells", "numbers", "confusions", "by_size"}
    for row in read_jsonl(own / "original-two-stage" / "predictions.jsonl"):
        parsed = transcribed[row["id"]]["read"]["parsed"]
        assert row["transcript"] == {"sample": 0, "parsed": parsed}
        if not parsed:  # flagged and scored as a wrong answer, never dropped
            assert row["answer"] is None and not any(row["correct"]) and row["output"] == ""
    # a VLM reads, another model solves: the served model's transcriptions, solved by the tiny model
    assert cli.main([*common, "--modality", "two-stage", "--limit", "3", "--output", str(tmp_path / "paired"),
                     "--transcripts", str(folder / "original-transcribe")]) == 0
    paired = tmp_path / "paired" / "tiny-qwen2-vl" / "original-two-stage"
    config = json.loads((paired / "config.json").read_text())
    assert config["transcripts"]["model"] == server.model and config["modality"] == "two-stage"
    rows = read_jsonl(paired / "predictions.jsonl")
    assert len(rows) == 3 and all(r["transcript"]["parsed"] and r["prompt_tokens"] > 0 for r in rows)
    assert not (tmp_path / "paired" / "tiny-qwen2-vl" / "original-transcribe").exists()


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert cli.main(list(argv)) == 2
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error and error.splitlines()[-1].startswith("crossmath-eval: error: "), error
    return error.splitlines()[-1]


def test_bad_transcripts_and_missing_runs_are_one_line_each(planted, eval_dataset, tmp_path, capsys):
    folder, _ = planted
    run = ["run", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--no-progress",
           "--output", str(tmp_path), "--modality", "two-stage", "--dataset"]
    transcripts = str(folder / "original-transcribe")
    assert "is a text run, not a transcribe run" in error_of(capsys, *run, str(eval_dataset), "--transcripts",
                                                             str(folder / "original-text"))
    assert "transcribes style 'original', not 'altstyle'" in error_of(
        capsys, *run, str(eval_dataset), "--style", "altstyle", "--transcripts", transcripts)
    published = eval_dataset / "published" / "data" / "Original" / "testset_hr.jsonl"
    assert "transcribes another dataset" in error_of(capsys, *run, str(published), "--transcripts", transcripts)
    assert "--transcripts is for --modality two-stage" in error_of(
        capsys, *run[:-3], "--modality", "text", "--dataset", str(eval_dataset), "--transcripts", transcripts)
    assert not any(tmp_path.iterdir())  # nothing ran
    report = ["report", "--out", str(tmp_path / "report")]
    assert "missing: image" in error_of(capsys, *report, str(folder / "original-text"),
                                        str(folder / "original-two-stage"))
    assert "missing: text and image" in error_of(capsys, *report, str(folder / "original-two-stage"))
    assert "transcribe run with no two-stage run" in error_of(capsys, *report, str(folder / "original-text"),
                                                              str(folder / "original-image"), transcripts)


def test_the_gallery_marks_misread_cells_in_their_own_colour(planted, eval_dataset, tmp_path):
    import base64
    import io
    import re

    from PIL import Image

    from crossmath.report.html import MISREAD

    folder, server = planted
    page = tmp_path / "page.html"
    runs = [str(folder / f"original-{m}") for m in ("text", "image", "two-stage", "transcribe")]
    assert cli.main(["report", *runs, "--out", str(tmp_path / "report"), "--html", str(page)]) == 0
    html = page.read_text()
    assert "misread in its own transcription" in html
    items = load_items(str(eval_dataset), "original", "test")
    misread = {item.id: len(server.misreads(item.id)) for item in items if server.misreads(item.id)}
    shown = re.findall(r'src="data:image/png;base64,([^"]+)" alt="([^"]+) with the cells its transcription misread '
                       r'marked"><figcaption>as transcribed: (\d+) misread', html)
    # with this seed, every misread puzzle is answered wrongly from the image, so each has a gallery entry
    assert {pid: int(count) for _, pid, count in shown} == misread
    green = tuple(int(MISREAD[i:i + 2], 16) for i in (1, 3, 5))
    for data, _, _ in shown:
        image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        colours = image.getcolors(1 << 16)
        assert colours is not None and green in {colour for _, colour in colours}
    assert cli.main(["report", *runs, "--out", str(tmp_path / "again")]) == 0
    for suffix in ("png", "svg"):  # the decomposition figure is byte-identical on a rerun, as every figure is
        name = f"decomposition.{suffix}"
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "report" / name).read_bytes()


def test_a_planted_slip_on_image_prompts_is_recovered_as_integration_loss(eval_dataset, tmp_path):
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items, misread=P, slip=0.3, seed=SEED) as server:
        assert cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                         "--dataset", str(eval_dataset), "--modality", "text,image,two-stage",
                         "--output", str(tmp_path), "--no-progress"]) == 0
    reading, image, wrong, explained = [], [], 0, 0
    for item in items:
        misread = {(r, c) for r, c, _, _ in server.misreads(item.id)}
        touched = [bool(cells & misread) for cells in blank_equation_cells(true_grid(item.texts["markdown"]))]
        slipped = server.slips(item.id)
        reading.append(sum(not t for t in touched) / len(touched))
        image.append(sum(not (t or s) for t, s in zip(touched, slipped)) / len(touched))
        wrong += any(touched) or any(slipped)
        explained += any(touched)
    assert mean(reading) - mean(image) > 0 and explained < wrong, "the seed must plant slips beyond misreadings"
    summary = json.loads((tmp_path / server.model / "report" / "summary.json").read_text())
    split = summary["decomposition"][server.model]["original"]
    assert split["integration_loss"]["micro"]["mean"] == pytest.approx(mean(reading) - mean(image), abs=1e-6)
    assert split["perception_loss"]["micro"]["mean"] == pytest.approx(100 - mean(reading), abs=1e-6)
    assert split["explained_by_misreading"] == {"wrong": wrong, "explained": explained,
                                                "share": pytest.approx(100 * explained / wrong)}


def test_a_prompt_file_serves_transcription_as_it_serves_the_other_modalities(eval_dataset, tmp_path):
    template = tmp_path / "mine.txt"
    template.write_text("Please transcribe this puzzle.\n{answer_format}", encoding="utf-8")
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items) as server:
        assert cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                         "--dataset", str(eval_dataset), "--modality", "transcribe", "--limit", "2",
                         "--prompt-file", str(template), "--output", str(tmp_path / "runs"), "--no-progress"]) == 0
    folder = tmp_path / "runs" / server.model / "original-transcribe"
    assert json.loads((folder / "config.json").read_text())["prompt_template"] == template.read_text()
    assert json.loads((folder / "metrics.json").read_text())["read"]["grid_exact"]["mean"] == 100
