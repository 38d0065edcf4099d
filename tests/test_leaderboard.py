"""The leaderboard and the paper tables: its numbers against each run's own metrics (scored by crossmath-eval
score), ranking, the image-against-text figure, and LaTeX and CSV tables checked by parsing them."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from report_runs import write_run

from crossmath.eval import cli
from crossmath.eval.scoring import score_files
from crossmath.eval.sources import load_items
from crossmath.report.leaderboard import leaderboard, leaderboard_table
from crossmath.report.outcomes import load_runs
from crossmath.report.stats import Agreement, Difference
from crossmath.report.tables import Value

STYLES = ("original", "altstyle")
MODELS = {  # model label -> modality -> which puzzles (by position) have every blank right; others miss blank 0
    "org/alpha_v1": {"text": {0, 1, 2, 3, 4}, "image": {0, 1}, "hybrid": {0, 1, 2, 3}},
    "org/beta%2 & #3": {"text": {0, 1, 2}, "image": {0, 1, 2}, "hybrid": {1, 2, 3, 4, 5}},
    "org/gamma": {"text": {0, 1, 2, 3, 4, 5}, "image": {5}, "hybrid": {0}},
}


@pytest.fixture
def study(eval_dataset: Path, tmp_path: Path) -> Path:
    """Runs of three models (the second twice: as is and with an adapter, which is a row of its own) in two styles
    and three modalities; the altstyle run of each model gets one more puzzle right in image mode."""
    for style in STYLES:
        items = load_items(str(eval_dataset), style, "test")
        expected = {item.id: item.answer for item in items}
        for model, modalities in MODELS.items():
            for adapter in ([None, "adapters/beta-lora"] if "beta" in model else [None]):
                for modality, right in modalities.items():
                    solved = right | ({3} if modality == "image" and style == "altstyle" else set())
                    table = {item.id: [[k in solved or j > 0 for j in range(len(item.answer))]]
                             for k, item in enumerate(items)}
                    folder = tmp_path / "study" / (model.replace("/", "__") + ("+lora" if adapter else "")) / \
                        f"{style}-{modality}"
                    write_run(folder, modality, table, model=model, style=style, dataset=str(eval_dataset),
                              expected=expected)
                    config = json.loads((folder / "config.json").read_text())
                    (folder / "config.json").write_text(json.dumps({**config, "adapter": adapter}))
    return tmp_path / "study"


def run_metric(eval_dataset: Path, folder: Path, metric: str = "micro") -> float:
    """A run's own figure, as crossmath-eval score gives it."""
    style = folder.name.rsplit("-", 1)[0]
    return score_files(str(eval_dataset), style, "test", [str(folder / "predictions.jsonl")])[metric]["mean"]


def test_leaderboard_numbers_equal_the_runs_own_metrics(study, eval_dataset):
    runs = load_runs(sorted(p.parent for p in study.glob("*/*/config.json")))
    rows = {row.model: row for row in leaderboard(runs, "micro", "image")}
    assert sorted(rows) == sorted([*MODELS, "org/beta%2 & #3 + adapters/beta-lora"])
    for model, row in rows.items():
        folder = study / (model.split(" + ")[0].replace("/", "__") + ("+lora" if " + " in model else ""))
        assert sorted(row.styles) == sorted(STYLES)
        means = {}
        for modality in ("text", "image", "hybrid"):
            per_style = [run_metric(eval_dataset, folder / f"{style}-{modality}") for style in STYLES]
            means[modality] = sum(per_style) / 2  # both styles hold the same 6 puzzles
            estimate = row.accuracy(modality, "micro")
            assert estimate is not None and estimate.mean == pytest.approx(means[modality])
            assert estimate.low <= estimate.mean <= estimate.high and estimate.n == 12
        for modality in ("image", "hybrid"):
            gap = row.gap(modality, "micro")
            assert gap is not None and gap.mean == pytest.approx(means[modality] - means["text"])
        macro = row.accuracy("image", "macro")
        assert macro is not None and macro.mean == pytest.approx(
            sum(run_metric(eval_dataset, folder / f"{style}-image", "macro") for style in STYLES) / 2)
        # consistent accuracy and kappa, by hand from the solved sets
        base = model.split(" + ")[0]
        solved = {m: [k in right | ({3} if m == "image" and style == "altstyle" else set())
                      for style in STYLES for k in range(6)] for m, right in MODELS[base].items()}
        consistent = sum(all(s[i] for s in solved.values()) for i in range(12)) / 12
        assert row.consistent == pytest.approx(100 * consistent)
        assert row.kappa == Agreement.count(solved["text"], solved["image"]).kappa
    # ranked by image accuracy, highest first
    images = [row.sort_value("image", "micro") or 0.0 for row in leaderboard(runs, "micro", "image")]
    assert images == sorted(images, reverse=True)
    gaps = [row.sort_value("image-text", "micro") or 0.0 for row in leaderboard(runs, "micro", "image-text")]
    assert gaps == sorted(gaps, reverse=True) and len(set(gaps)) > 1 and max(gaps) <= 0
    assert leaderboard(runs, "micro", "text")[0].model == "org/gamma"


def test_extra_columns_appear_only_where_some_model_has_them(study):
    runs = load_runs(sorted(p.parent for p in study.glob("*/*/config.json")))
    assert leaderboard_table(leaderboard(runs), "micro", "consistent").header[-1] == "kappa"
    split: dict[str, dict[str, Value]] = {
        "org/gamma": {"perception loss": Difference(-12.5, -20.0, -5.0, 0.01, 12), "integration loss": "3.2"}}
    rows = leaderboard(runs, extra=split)
    table = leaderboard_table(rows, "micro", "consistent")
    assert table.header[-2:] == ("perception loss", "integration loss")
    gamma = next(row for row in table.rows if row[1] == "org/gamma")
    assert gamma[-2:] == (split["org/gamma"]["perception loss"], "3.2")
    assert all(row[-2:] == ("", "") for row in table.rows if row[1] != "org/gamma")


def _unescaped(text: str, char: str) -> int:
    return len(re.findall(r"(?<!\\)" + re.escape(char), text))


def check_latex(tex: str) -> list[list[str]]:
    """Parse a booktabs table: balanced environments and braces, one rule of each kind, no special character left
    unescaped, every row with the tabular's number of columns; returns the body's rows."""
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name
    assert not stack
    assert tex.count("\\toprule") == tex.count("\\midrule") == tex.count("\\bottomrule") == 1
    depth = 0
    for char in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert _unescaped(tex, "%") == 0 and _unescaped(tex, "#") == 0
    assert _unescaped(re.sub(r"\$[^$]*\$", "", tex), "_") == 0  # an underscore only inside math
    spec = re.search(r"\\begin\{tabular\}\{([lrc]+)\}", tex)
    assert spec is not None
    body = tex.split("\\midrule\n")[1].split("\\bottomrule")[0]
    head = tex.split("\\toprule\n")[1].split("\\midrule")[0]
    rows = []
    for line in (head + body).strip().splitlines():
        assert line.endswith(r" \\")
        cells = re.split(r"(?<!\\)&", line[:-3])
        assert len(cells) == len(spec.group(1)), line
        rows.append([c.strip() for c in cells])
    return rows


@pytest.mark.parametrize("style", ["pm", "brackets"])
def test_latex_and_csv_tables_parse_and_escape(study, tmp_path, capsys, style):
    out = tmp_path / "report"
    assert cli.main(["report", str(study), "--out", str(out), "--latex", style, "--csv", "--rank-by", "text"]) == 0
    assert "LaTeX and CSV tables in" in capsys.readouterr().out
    tex = sorted(p.name for p in (out / "tables").glob("*.tex"))
    assert tex == ["consistency.tex", "leaderboard.tex", "modality-gap.tex", "steps.tex", "styles.tex"]
    assert sorted(p.stem for p in (out / "tables").glob("*.csv")) == [Path(name).stem for name in tex]
    for name in tex:
        check_latex((out / "tables" / name).read_text())
    rows = check_latex((out / "tables" / "leaderboard.tex").read_text())
    assert rows[0][:4] == ["rank", "model", "styles", "text"]
    models = [row[1] for row in rows[1:]]
    assert models[0] == "org/gamma" and r"org/beta\%2 \& \#3" in models and r"org/alpha\_v1" in models
    text = [row[3] for row in rows[1:]]
    assert text[0].startswith(r"\textbf{100.0") and all("textbf" not in cell for cell in text[1:])
    interval = r"\$\\pm\$ \d+\.\d" if style == "pm" else r"\[\d+\.\d, \d+\.\d\]"
    assert all(re.search(interval, cell) for cell in text)
    # the CSV holds the same table, every interval in columns of its own
    with open(out / "tables" / "leaderboard.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    summary = json.loads((out / "summary.json").read_text())["leaderboard"]
    assert [r["model"] for r in table] == [r["model"] for r in summary] == \
        [row[1].replace("\\", "") for row in rows[1:]]
    for row, entry in zip(table, summary):
        assert float(row["image"]) == pytest.approx(entry["accuracy"]["image"]["mean"], abs=1e-4)
        assert float(row["image - text low"]) == pytest.approx(entry["gaps"]["image"]["low"], abs=1e-4)
        assert float(row["image - text p"]) == pytest.approx(entry["gaps"]["image"]["p"], rel=1e-3)
    assert (out / "image-vs-text.png").is_file() and (out / "image-vs-text.svg").is_file()
    assert "![image-vs-text](image-vs-text.png)" in (out / "report.md").read_text()


def test_a_latex_row_opening_with_a_bracket_is_not_the_line_breaks_option():
    from crossmath.report.latex import latex_table
    from crossmath.report.tables import Table

    tex = latex_table(Table("Models", "", ("[rank]", "model"), (("1", "org/a"), ("[ours] b", "2"), (" [x]", "3"))))
    body = tex.split("\\toprule\n")[1].split("\n\\bottomrule")[0].splitlines()  # each line follows \\ or a rule
    assert len(body) == 5 and not any(line.lstrip().startswith("[") for line in body), tex
    assert [row[0] for row in check_latex(tex)] == ["{}[rank]", "1", "{}[ours] b", "{} [x]"]


def test_latex_tables_need_a_folder(study):
    from crossmath.report.report import ReportError, gap_report

    with pytest.raises(ReportError, match="written to the report's folder"):
        gap_report([study], latex="pm")
