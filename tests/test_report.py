"""crossmath-eval report on hand-made runs: consistency statistics against hand-computed values, accuracy by step
level and by factor, deterministic figures, and the HTML page's contents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from report_runs import write_run

from crossmath.eval import cli
from crossmath.eval.metrics import step_category
from crossmath.eval.sources import load_items
from crossmath.report.gallery import select
from crossmath.report.outcomes import PuzzleOutcome, ReportError, load_runs
from crossmath.report.report import gap_report
from crossmath.report.stats import Agreement, accuracy
from crossmath.report.summary import summarize_runs

ROOT = Path(__file__).parents[1]
T, F = True, False
# six puzzles of two blanks, one sample each; per modality, which blanks are right
TEXT = {"p0": [[T, T]], "p1": [[T, T]], "p2": [[T, T]], "p3": [[T, T]], "p4": [[F, T]], "p5": [[F, F]]}
IMAGE = {"p0": [[T, T]], "p1": [[T, T]], "p2": [[F, T]], "p3": [[T, F]], "p4": [[F, F]], "p5": [[F, T]]}
HYBRID = {"p0": [[T, T]], "p1": [[F, T]], "p2": [[T, T]], "p3": [[T, T]], "p4": [[T, F]], "p5": [[T, T]]}


@pytest.fixture
def hand_runs(tmp_path: Path) -> list[Path]:
    return [write_run(tmp_path / m, m, table) for m, table in (("text", TEXT), ("image", IMAGE), ("hybrid", HYBRID))]


def test_consistency_equals_hand_computed_values(hand_runs):
    group = summarize_runs(load_runs(hand_runs)).groups[0]
    pairs = {(p.first, p.second): p for p in group.pairs}
    assert list(pairs) == [("text", "image"), ("text", "hybrid"), ("image", "hybrid")]
    text_image = pairs[("text", "image")]
    # puzzles: solved in both p0 p1; text only p2 p3; image only none; neither p4 p5
    assert (text_image.puzzles.both, text_image.puzzles.first, text_image.puzzles.second,
            text_image.puzzles.neither) == (2, 2, 0, 2)
    assert text_image.puzzles.agreement == pytest.approx(4 / 6)
    # chance agreement (4*2 + 2*4) / 36 = 4/9; kappa (2/3 - 4/9) / (5/9) = 0.4
    assert text_image.puzzles.kappa == pytest.approx(0.4)
    assert text_image.puzzles.mcnemar_p == pytest.approx(0.5)  # 2 of 2 discordant on one side: 2 * 0.5**2
    # blanks: both 6, text only 3 (p2, p3, p4), image only 1 (p5), neither 2
    assert (text_image.blanks.both, text_image.blanks.first, text_image.blanks.second,
            text_image.blanks.neither) == (6, 3, 1, 2)
    # chance (9*7 + 3*5) / 144 = 78/144; kappa (8/12 - 78/144) / (1 - 78/144) = 3/11
    assert text_image.blanks.kappa == pytest.approx(3 / 11)
    assert text_image.blanks.mcnemar_p == pytest.approx(10 / 16)  # P(X >= 3 | 4, 1/2) = 5/16, two-sided
    assert group.consistent == {"puzzles": pytest.approx(1 / 6), "blanks": pytest.approx(5 / 12), "n": 6}
    assert group.modalities["text"].micro.mean == pytest.approx(75.0)
    assert group.modalities["image"].macro.mean == pytest.approx(100 * 2 / 6)
    gap = group.gaps["image"]["micro"]
    assert gap is not None and gap.mean == pytest.approx(-100 / 6)  # (0+0-.5-.5-.5+.5) / 6


def test_agreement_edge_cases():
    everything_right = Agreement.count([T, T, T], [T, T, T])
    assert everything_right.kappa is None and everything_right.agreement == 1 and everything_right.mcnemar_p == 1
    opposite = Agreement.count([T, F, T, F], [F, T, F, T])
    assert opposite.kappa == pytest.approx(-1) and opposite.agreement == 0
    with pytest.raises(ValueError, match="is longer than argument"):
        Agreement.count([T], [T, F])


def test_samples_count_by_majority_and_accuracies_average_them():
    three = PuzzleOutcome("x", ("1 2",) * 3, ((T, T), (T, F), (T, T)), ("",) * 3, (1, 2, 3))
    assert three.solved and three.blanks_right == (T, T)
    assert three.micro == pytest.approx(5 / 6) and three.macro == pytest.approx(2 / 3)
    tie = PuzzleOutcome("y", ("1 2",) * 2, ((T, T), (F, T)), ("",) * 2, (4, 5))
    assert not tie.solved and tie.blanks_right == (F, T)


def test_pooled_accuracy_resamples_puzzles():
    estimate = accuracy([1, 0, 3], [1, 2, 4])
    assert estimate is not None
    assert estimate.mean == pytest.approx(100 * 4 / 7) and estimate.low <= estimate.mean <= estimate.high
    assert accuracy([]) is None and accuracy([0], [0]) is None


def test_report_writes_tables_json_and_identical_figures(hand_runs, tmp_path):
    hand_runs.append(write_run(tmp_path / "alt-text", "text", IMAGE, style="altstyle"))
    markdown = gap_report(hand_runs, out=tmp_path / "a")
    assert "| toy/model | text | 58.3 [" in markdown and "| 75.0 [" in markdown and "| 16.7 |" in markdown
    assert "| toy/model | original | text vs image | puzzles | 2 | 2 | 0 | 2 | 66.7 | 0.400 | 0.5 |" in markdown
    assert "16.7% of 6 puzzles solved in every modality; 41.7% of their blanks right" in markdown
    assert "Accuracy by step level" not in markdown  # the dataset is not there: no step levels, no error
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["groups"][0]["pairs"][0]["puzzles"]["kappa"] == pytest.approx(0.4)
    # a second report in another process gives byte-identical PNG and SVG figures
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "crossmath.eval.cli", "report", *map(str, hand_runs), "--out",
                          str(tmp_path / "b")], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    figures = sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix in (".png", ".svg"))
    assert figures == [f"{name}.{kind}" for name in ("consistency", "modalities", "styles") for kind in ("png", "svg")]
    for name in figures:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    with Image.open(tmp_path / "a" / "modalities.png") as image:
        assert image.width == 700  # 3.5 inches, one column, at 200 dpi
    assert "![modalities](modalities.png)" in (tmp_path / "a" / "report.md").read_text()


def test_report_errors_are_one_line(hand_runs, tmp_path, capsys):
    assert cli.main(["report", str(hand_runs[0]), "--out", str(tmp_path / "r"), "--by", "font_size"]) == 2
    assert "no factor 'font_size'" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")]) == 2
    assert "not a readable crossmath-eval run folder" in capsys.readouterr().err
    (hand_runs[0] / "predictions.jsonl").write_text('{"id": "p0"}\n')
    assert cli.main(["report", str(hand_runs[0]), "--out", str(tmp_path / "r")]) == 2
    assert "predictions.jsonl:1: not a prediction record" in capsys.readouterr().err
    twin = write_run(tmp_path / "twin", "text", TEXT)
    (hand_runs[0] / "predictions.jsonl").unlink()
    write_run(hand_runs[0], "text", TEXT)
    with pytest.raises(ReportError, match="are runs of the same settings"):
        load_runs([hand_runs[0], twin])


def test_accuracy_by_factor_paired_and_unpaired(eval_dataset, tmp_path, capsys):
    items = load_items(str(eval_dataset), "original", "test")
    expected = {item.id: item.answer for item in items}
    right = {item.id: [[T] * len(item.answer)] for item in items}
    half = {item.id: [[k % 2 == 0] * len(item.answer)] for k, item in enumerate(items)}
    # every level but 12 reads the same puzzles from the dataset (in two configs): their differences are paired
    runs = [write_run(tmp_path / f"fs{level}", "image", table, style=style, dataset=str(eval_dataset),
                      expected=expected, factors={"font_size": level})
            for level, style, table in ((30, "altstyle", half), (6, "original", right), (18, "altstyle", half))]
    runs.append(write_run(tmp_path / "fs12", "image", half, dataset=str(eval_dataset), style="beige",
                          factors={"font_size": 12}, expected=expected))  # a config the dataset lacks: unpaired
    assert cli.main(["report", *map(str, runs), "--out", str(tmp_path / "r"), "--by", "font_size"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["levels"] == ["6", "12", "18", "30"]  # numeric order, not text order
    rows = {row["level"]: row for row in summary["factor_rows"]}
    assert rows["6"]["macro"]["mean"] == 100 and rows["6"]["difference"]["macro"] is None
    assert rows["18"]["macro"]["mean"] == pytest.approx(50)
    assert rows["18"]["difference"]["macro"]["paired"] and rows["18"]["difference"]["macro"]["mean"] == \
        pytest.approx(-50)
    assert not rows["12"]["difference"]["macro"]["paired"]  # its dataset is not readable: not known to be paired
    assert (tmp_path / "r" / "factor-font_size.png").is_file() and (tmp_path / "r" / "factor-font_size.svg").is_file()
    assert "## Accuracy by font_size (%)" in capsys.readouterr().out


def _gallery_runs(eval_dataset: Path, tmp_path: Path) -> tuple[list[Path], list]:
    """Text solves all but the fourth puzzle; the image misses the first blank of the first two; hybrid misses
    the first blank of the first puzzle."""
    items = load_items(str(eval_dataset), "original", "test")
    expected = {item.id: item.answer for item in items}

    def table(wrong: dict[int, set[int]]) -> dict[str, list[list[bool]]]:
        return {item.id: [[j not in wrong.get(k, set()) for j in range(len(item.answer))]]
                for k, item in enumerate(items)}

    runs = [write_run(tmp_path / "runs" / m, m, table(wrong), dataset=str(eval_dataset), expected=expected)
            for m, wrong in (("text", {3: {0}}), ("image", {0: {0}, 1: {0}}), ("hybrid", {0: {0}}))]
    return runs, items


def test_step_levels_and_gallery_order(eval_dataset, tmp_path):
    runs, items = _gallery_runs(eval_dataset, tmp_path)
    summary = summarize_runs(load_runs(runs))
    image_steps = summary.groups[0].modalities["image"].steps
    for step in ("step1", "step2", "step3", "step4+"):
        total = [sum(step_category(s) == step for s in item.steps) for item in items]
        missed = sum(step_category(items[k].steps[0]) == step for k in (0, 1))
        expected = None if not sum(total) else 100 * (sum(total) - missed) / sum(total)
        estimate = image_steps[step]
        assert (estimate and estimate.mean) == (pytest.approx(expected) if expected else None)
    entries = select(load_runs(runs), 50)
    assert [(e.id, e.rank) for e in entries] == [(items[0].id, 0), (items[1].id, 0), (items[3].id, 1)]
    assert entries[0].wrong_in()[0] == ["image", "hybrid"] and entries[1].wrong_in()[0] == ["image"]
    assert len(select(load_runs(runs), 1)) == 1


def test_html_page_is_self_contained(eval_dataset, tmp_path):
    runs, items = _gallery_runs(eval_dataset, tmp_path)
    page = tmp_path / "page" / "report.html"
    gap_report(runs, out=tmp_path / "out", html=page)
    html = page.read_text()
    assert "http://" not in html and "https://" not in html and 'src="data:image/png;base64,' in html
    assert html.index(items[0].id) < html.index("Solved from the image, not from text") < html.index(items[3].id)
    assert 'href="../runs/image/predictions.jsonl">predictions.jsonl line 1</a>' in html
    assert 'title="expected ' in html and 'data-difficulty="easy"' in html
