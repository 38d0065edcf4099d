"""The reward-driven curriculum (issue 20, item 2): it moves up and down on scripted rewards, resumes at its level,
and the stream serves the level in force."""

from __future__ import annotations

import dataclasses
from itertools import islice

import pytest

import crossmath
from crossmath.dataset.curriculum import Curriculum, curriculum_stream, level_settings, parse_curriculum
from crossmath.dataset.settings import BuildSettings
from crossmath.errors import SettingsError
from crossmath.render import STYLES

SMALL = dataclasses.replace(STYLES["original"], name="small", cell_size=16, font_size=8, border_width=1)


def test_curriculum_moves_up_and_down_on_scripted_rewards_and_resumes_at_its_level():
    curriculum = Curriculum(levels=3, threshold=0.8, window=4, lower=0.3)
    assert [curriculum.observe(r) for r in (0.9, 0.9, 0.9)] == [0, 0, 0]  # a window not yet full never moves
    assert curriculum.observe(0.9) == 1
    assert curriculum.observe(0.7, groups=4) == 1  # between the thresholds: stays
    assert curriculum.observe(0.9, groups=2) == 1  # last four groups: 0.7 0.7 0.9 0.9, mean 0.8 ...
    assert curriculum.level == 1 and list(curriculum.recent) == [0.7, 0.7, 0.9, 0.9]
    curriculum = Curriculum(levels=3, threshold=0.8, window=4, lower=0.3)
    curriculum.observe(1.0, groups=4)
    curriculum.observe(1.0, groups=4)
    assert curriculum.level == 2
    assert curriculum.observe(1.0, groups=8) == 2  # the top level is the last
    curriculum.observe(0.5, groups=2)
    state = curriculum.state()
    resumed = Curriculum(levels=3, threshold=0.8, window=4, lower=0.3)
    resumed.restore(state)
    assert resumed.level == 2 and resumed.observe(0.0, groups=2) == 1  # kept window: 1 1 .5 .5, then 0 0
    assert resumed.observe(0.0, groups=4) == 0 and resumed.observe(0.0, groups=4) == 0  # never below the first
    without_lower = Curriculum(levels=2, threshold=0.5, window=1)
    assert without_lower.observe(0.6) == 1 and without_lower.observe(0.0) == 1  # no lower threshold: never down


def test_the_stream_serves_the_level_in_force():
    factor, levels = parse_curriculum("equations=5-7,11-13")
    assert levels == [[5, 7], [11, 13]]
    curriculum = Curriculum(levels=2, threshold=0.9, window=2)
    data = iter(curriculum_stream("small", factor, levels, curriculum, seed=4, styles=(SMALL,)))
    easy = [next(data) for _ in range(3)]
    curriculum.observe(1.0, groups=2)
    hard = [next(data) for _ in range(3)]
    assert [row["id"] for row in easy + hard] == [f"train-{i:05d}" for i in range(6)]
    assert all(5 <= row["num_equations"] <= 7 for row in easy) and all(11 <= row["num_equations"] <= 13
                                                                       for row in hard)
    level_1 = level_settings(BuildSettings(styles=(SMALL,)), factor, levels[1])
    expected = list(islice(crossmath.stream("small", seed=4, styles=(SMALL,), train_mix=level_1.train_mix,
                                            puzzle_by_difficulty=level_1.puzzle_by_difficulty), 6))[3:]
    assert [row["markdown_table"] for row in hard] == [row["markdown_table"] for row in expected]


@pytest.mark.parametrize("text,message", [
    ("colour=1,2", "unknown curriculum factor 'colour'"),
    ("depth", "takes FACTOR=L1,L2"),
    ("difficulty=easy,brutal", "difficulty levels are easy, medium, hard"),
    ("depth=1,1", "repeats a level"),
])
def test_bad_curriculum_is_one_clear_error(text, message):
    with pytest.raises(SettingsError, match=message):
        parse_curriculum(text)


def test_difficulty_levels_are_one_difficulty_mixes_and_deep_levels_drop_easy_puzzles():
    factor, levels = parse_curriculum("difficulty=easy,hard")
    assert level_settings(BuildSettings(), factor, levels[1]).train_mix == (0, 0, 1)
    factor, levels = parse_curriculum("equations=14-15")
    assert level_settings(BuildSettings(), factor, levels[0]).puzzle_by_difficulty["hard"] == {"equations": [14, 15]}
    with pytest.raises(SettingsError, match="no difficulty of the train mix makes such puzzles"):
        level_settings(BuildSettings(), "max_rows", 1)


def test_depth_levels_are_the_builds_re_blanked_variants():
    factor, levels = parse_curriculum("depth=1,3")
    assert level_settings(BuildSettings(), factor, 3).vary == {"depth": [3]}
    data = curriculum_stream("small", factor, levels, Curriculum(levels=2, threshold=0.5, window=1, level=1),
                             styles=(SMALL,))
    rows = list(islice(data, 4))
    assert {max(row["blank_steps"]) for row in rows} == {3} and {row["style"] for row in rows} == {"small-depth-3"}
    built = islice(crossmath.stream("small-depth-3", styles=(SMALL,), vary={"depth": [3]}), 4)
    assert [row["answer"] for row in built] == [row["answer"] for row in rows]
    with pytest.raises(SettingsError, match="window"):
        Curriculum(levels=2, threshold=0.5, window=0)


def test_a_curriculum_stream_checks_start_prefetch_and_images_as_the_stream_does():
    factor, levels = parse_curriculum("depth=1,3")
    curriculum = Curriculum(levels=2, threshold=0.5, window=1)
    for bad, message in (({"start": 1.5}, "start is a whole number, 0 or more, not 1.5"),
                         ({"prefetch": -1}, "prefetch is a whole number, 0 or more, not -1"),
                         ({"images": "no"}, "images is True or False, not 'no'")):
        with pytest.raises(SettingsError, match=message):
            curriculum_stream("small", factor, levels, curriculum, styles=(SMALL,), **bad)
