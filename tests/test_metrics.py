"""Answer reading and the published metrics, against hand-computed figures."""

from __future__ import annotations

import pytest

from crossmath.eval.answers import answer_tokens, extract_answer
from crossmath.eval.metrics import Truth, score_sample, step_category, summarize

TRUTHS = [
    Truth("p1", ("78", "33", "128", "90"), ("step1", "step1", "step2", "step3"), "hard"),
    Truth("p2", ("5", "7"), ("step1", "step4"), "easy"),
    Truth("p3", ("12",), ("step2",), "medium"),
]
SAMPLE_A = ["<answer>78 33 128 91</answer>", "5 7", ""]
SAMPLE_B = ["78|33|128|90", "<answer>7 5</answer>", "<answer>12</answer>"]


def test_one_sample_by_hand():
    a = score_sample(TRUTHS, [answer_tokens(line) for line in SAMPLE_A])
    assert a["micro"] == pytest.approx((0.75 + 1 + 0) / 3)
    assert a["macro"] == pytest.approx(1 / 3)
    assert a["step_counts"] == {"step1": [3, 3], "step2": [1, 2], "step3": [0, 1], "step4+": [1, 1]}
    assert a["difficulty"]["hard"]["micro"] == 0.75 and a["difficulty"]["easy"]["macro"] == 1.0


def test_mean_and_sample_std_over_samples_in_percent():
    samples = [score_sample(TRUTHS, [answer_tokens(line) for line in lines]) for lines in (SAMPLE_A, SAMPLE_B)]
    summary = summarize(samples, puzzles=3, missing=1)
    assert summary["micro"]["mean"] == pytest.approx(62.5)
    assert summary["micro"]["std"] == pytest.approx(5.892556, abs=1e-5)
    assert summary["macro"]["mean"] == pytest.approx(50.0)
    assert summary["macro"]["std"] == pytest.approx(23.570226, abs=1e-5)
    assert summary["steps"]["step1"]["mean"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert summary["steps"]["step2"]["mean"] == pytest.approx(100 * (0.5 + 1) / 2)
    assert summary["steps"]["step3"]["mean"] == pytest.approx(50.0)
    assert summary["steps"]["step4+"]["mean"] == pytest.approx(50.0)


def test_a_step_with_no_blanks_is_not_scored_as_zero():
    sample = score_sample(TRUTHS[1:2], [["5", "7"]])
    assert sample["steps"]["step2"] is None
    assert summarize([sample], puzzles=1, missing=0)["steps"]["step2"] == {"mean": None, "std": None}


@pytest.mark.parametrize("label, category", [
    ("step1", "step1"), ("Step 2", "step2"), ("3", "step3"), ("step7", "step4+"), ("first", "step1"),
    ("second", "step2"), ("third", "step3"), ("later", "step4+"), ("step0", "step4+"),
])
def test_step_categories(label, category):
    assert step_category(label) == category


@pytest.mark.parametrize("output, answer", [
    ("Reasoning... so <answer>78 33 128 90</answer>", "78 33 128 90"),
    ("<think>maybe <answer>1 2</answer></think> final <answer>3, 4</answer>", "3 4"),
    ("<ANSWER> 5 | 6 </ANSWER>", "5 6"),
    ("<answer>1 2</answer> then <answer>9 9</answer>", "1 2"),
    ("  12 7 3 ", "12 7 3"),
    ("The answer is 12", None),
    ("", None),
])
def test_answers_are_read_like_the_published_scorer(output, answer):
    assert extract_answer(output) == answer


@pytest.mark.parametrize("output, answer", [
    ("<analysis>draft <answer>1 2</answer></analysis><answer>3 4</answer>", "3 4"),  # lmms-eval's second pair
    ("<think>a</think>x<analysis>b <answer>1 2</answer></analysis> <answer>5 6</answer>", "5 6"),
    ("draft <answer>1 2</answer></think>\n<answer>7 8</answer>", "7 8"),  # the template pre-filled <think>
    ("draft <answer>1 2</answer></think>\nno answer after thinking", None),
    ("a</think>b</think> 9 9", "9 9"),  # only what follows the last closing tag
    ("<think>cut off while thinking <answer>1 2</answer>", None),  # a draft inside unfinished reasoning
    ("<answer>3 4</answer><think>second thoughts <answer>1 2", "3 4"),
    ("Worked out: <answer>12 7", None),  # cut off by the token limit inside the tag: maybe half an answer
    ("<answer>12 7</answer> and <answer>1", "12 7"),
])
def test_a_draft_answer_inside_reasoning_never_counts_nor_an_answer_tag_left_open(output, answer):
    assert extract_answer(output) == answer


def test_answer_tokens_match_the_published_line_rule():
    assert answer_tokens("<answer>78,33\t128|90</answer> trailing") == ["78", "33", "128", "90"]
    assert answer_tokens("   ") == []
    assert answer_tokens("78  33") == ["78", "33"]
