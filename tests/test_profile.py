"""The published profile and `crossmath profile`: generated sets look like the published test set, and the figures
of small known sets are the known ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossmath import cli, generate
from crossmath.dataset import BuildSettings
from crossmath.dataset import cli as dataset_cli
from crossmath.dataset.items import puzzle_at
from crossmath.errors import SettingsError
from crossmath.puzzles import profile
from crossmath.puzzles.arith import PLUS, TIMES
from crossmath.puzzles.model import ACROSS, DOWN, Equation, Puzzle, PuzzleInfo
from crossmath.puzzles.records import to_record, write_records
from crossmath.render import STYLES

MIX = {"easy": 300, "medium": 280, "hard": 250}
"""A few hundred puzzles per difficulty, in the published proportions."""


def generated_figures(profile_name: str, share: float = 1.0) -> profile.Figures:
    return profile.figures(profile.sample(generate(d, seed=0, index=i, profile=profile_name))
                           for d, count in MIX.items() for i in range(int(count * share)))


def test_the_published_profile_meets_the_goals_and_the_compact_one_does_not():
    gaps = profile.distances(generated_figures("published"), profile.PUBLISHED)
    assert profile.misses(gaps) == []
    assert set(gaps) == {"easy", "medium", "hard", "all"}
    assert all(gaps[d]["step_shares"] is not None for d in MIX)
    compact = profile.misses(profile.distances(generated_figures("compact", share=0.3), profile.PUBLISHED))
    assert any(line.startswith("medium step_shares") for line in compact)
    assert any("filled_share" in line for line in compact)


def known_puzzles() -> list[Puzzle]:
    """Two 5x5 puzzles whose figures are worked out by hand in the tests below.

    easy: 2+3=5 across, 2×4=8 down, blanks 5 and 8 (both step 1).
    hard: 2+3=5 across, 5+1=6 down, blanks 3 and 5: 5 comes from the down equation (step 1), then 3 (step 2).
    """
    easy = Puzzle.make([Equation(ACROSS, 0, 0, PLUS), Equation(DOWN, 0, 0, TIMES)],
                       {(0, 0): 2, (0, 2): 3, (0, 4): 5, (2, 0): 4, (4, 0): 8}, [(0, 4), (4, 0)],
                       PuzzleInfo(difficulty="easy", number_range=(1, 20)))
    hard = Puzzle.make([Equation(ACROSS, 0, 0, PLUS), Equation(DOWN, 0, 4, PLUS)],
                       {(0, 0): 2, (0, 2): 3, (0, 4): 5, (2, 4): 1, (4, 4): 6}, [(0, 2), (0, 4)],
                       PuzzleInfo(difficulty="hard", number_range=(1, 20)))
    return [easy, hard]


@pytest.fixture
def known_file(tmp_path: Path) -> Path:
    path = tmp_path / "known.jsonl"
    write_records(path, [to_record(p, img=f"{i}.png", img_blank=f"{i}_blank.png")
                         for i, p in enumerate(known_puzzles())])
    return path


def run_profile(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert cli.main(["profile", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_profile_of_known_puzzles(capsys, known_file):
    figures = run_profile(capsys, str(known_file))["figures"]
    easy, hard, both = figures["easy"], figures["hard"], figures["all"]
    assert list(figures) == ["easy", "hard", "all"]
    assert easy["puzzles"] == 1 and (easy["rows_mean"], easy["cols_mean"], easy["rows_max"]) == (5, 5, 5)
    assert easy["filled_share"] == pytest.approx(9 / 25)  # 5 numbers, 2 operators, 2 "=" in 25 cells
    assert easy["blanks_per_equation"] == 1 and easy["step_shares"] == {"1": 1}
    assert easy["equation_bins"] == {"<=7": 1, "8-10": 0, "11-13": 0, ">=14": 0}
    assert easy["operator_shares"] == {"+": 0.5, "-": 0, "×": 0.5, "÷": 0}
    assert (easy["number_median"], easy["number_p90"], easy["number_max"]) == (3, pytest.approx(3.8), 4)
    assert hard["step_shares"] == {"1": 0.5, "2": 0.5} and hard["operator_shares"]["+"] == 1
    assert (hard["number_median"], hard["number_max"]) == (2, 6)  # shown: 2, 1, 6
    assert both["step_shares"] == {"1": 0.75, "2": 0.25} and both["number_median"] == 2.5  # 1 2 2 3 4 6


def test_distances_to_itself_and_to_the_published_set(capsys, known_file):
    itself = run_profile(capsys, str(known_file), "--against", str(known_file))
    for row in itself["distances"].values():
        assert row["puzzles"] is None
        assert all(row[name] == 0 for name in profile.DISTRIBUTIONS)
        assert row["rows_mean"] == row["filled_share"] == 1
    assert itself["misses"] == []
    published = run_profile(capsys, str(known_file), "--against", "published")["distances"]
    # |0.5 - 0.358| + |0 - 0.354| + |0.5 - 0.175| + |0 - 0.113|, halved
    assert published["easy"]["operator_shares"] == pytest.approx(0.467)
    assert published["easy"]["step_shares"] == 0
    assert published["hard"]["rows_mean"] == pytest.approx(5 / 11.5)
    assert published["easy"]["number_p90"] is None  # the published figures give it for all puzzles only
    assert published["all"]["number_max"] == pytest.approx(6 / 247)


def test_table_marks_the_missed_goals(capsys, known_file):
    assert cli.main(["profile", str(known_file), "--against", "published"]) == 0
    out = capsys.readouterr().out
    assert "| easy | step shares | 1 1.000 | 1 1.000 | TV 0.000 |" in out
    assert "| easy | operator shares |" in out and "TV 0.467 !" in out
    assert "outside the published profile's goals: " in out and "easy rows_mean: x0.442" in out


def test_a_build_folder_its_published_layout_and_its_card_agree(capsys, eval_dataset):
    settings = BuildSettings(train_size=0, test_size=6, styles=(STYLES["original"],))
    expected = profile.figures(profile.sample(puzzle_at(settings, "test", i, frozenset())[0]) for i in range(6))
    folder = run_profile(capsys, str(eval_dataset), "--config", "altstyle")["figures"]
    jsonl = run_profile(capsys, str(eval_dataset / "published" / "data" / "Original" / "testset_hr.jsonl"))
    assert folder == jsonl["figures"] == json.loads(json.dumps(expected, ensure_ascii=False))
    card = (eval_dataset / "README.md").read_text(encoding="utf-8")
    assert "## Profile against the published test set" in card
    assert "\n".join(profile.table(expected, profile.PUBLISHED, ("this dataset", "published"))) in card


@pytest.mark.parametrize("source, message", [
    ("missing.jsonl", "no such file: missing.jsonl"),
    ("{tmp}/bad.jsonl", "bad.jsonl: puzzle x: across run at row 0"),
])
def test_bad_input_is_one_error_line(capsys, tmp_path, source, message):
    (tmp_path / "bad.jsonl").write_text('{"img_blank": "x.png", "markdown_table": "| 1 | + |", '
                                        '"markdown_answer": "", "markdown_answer_step": ""}\n', encoding="utf-8")
    assert cli.main(["profile", source.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("crossmath: error:") and message in err[0], err


def test_a_build_chooses_the_profile_of_each_split():
    settings = BuildSettings(train_size=3, test_size=3, test_profile="compact", styles=(STYLES["original"],))
    test, _ = puzzle_at(settings, "test", 1, frozenset())
    train, _ = puzzle_at(settings, "train", 1, frozenset())
    assert test.info.difficulty is not None and train.info.difficulty is not None
    assert test == generate(test.info.difficulty, seed=0, index=1, profile="compact")
    assert train == generate(train.info.difficulty, seed=0, index=1_000_001, profile="published")
    assert test.info.generator is not None and test.info.generator.endswith(" compact")
    assert train.info.generator is not None and train.info.generator.endswith(" published")
    with pytest.raises(SettingsError, match="unknown profile 'dense'"):
        BuildSettings(train_profile="dense", styles=(STYLES["original"],))
    assert "--train-profile" in dataset_cli.build_parser().format_help()
    args = dataset_cli.build_parser().parse_args(["--out", "x", "--profile", "compact"])
    assert (dataset_cli.settings_from_args(args).test_profile, dataset_cli.settings_from_args(args).train_profile) \
        == ("compact", "compact")
