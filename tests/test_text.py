"""Text serializations: the published markdown byte for byte, companions, and round trips of every format."""

from __future__ import annotations

import pytest

from crossmath import Puzzle, PuzzleError, generate
from crossmath.puzzles.records import to_record
from crossmath.puzzles.text import (
    FORMATS,
    from_markdown,
    markdown_answer,
    markdown_answer_step,
    solutions,
    solving_steps,
    to_markdown,
)

# A hand-checked puzzle in the published format: 70+58=? gives 128 (step 1), 128÷8=? gives 16 (step 2), and only
# then ?+16=78 gives 62 (step 3); 86-?=78 gives 8 (step 1).
PUBLISHED = "\n".join([
    "| 70 | + | 58 | = | ? |   | 86 |",
    "|   |   |   |   | ÷ |   | - |",
    "|   |   |   |   | 8 |   | ? |",
    "|   |   |   |   | = |   | = |",
    "|   |   | ? | + | ? | = | 78 |",
])


def test_published_markdown_is_read_and_written_back_byte_for_byte():
    p = from_markdown(PUBLISHED)
    assert to_markdown(p) == PUBLISHED
    assert p.answer == "128 8 62 16"
    assert (p.rows, p.cols, len(p.equations)) == (5, 7, 4)


def test_companions_follow_the_published_layout():
    p = from_markdown(PUBLISHED)
    assert markdown_answer(p).splitlines()[0] == "|   |   |   |   | 128 |   |   |"
    assert markdown_answer(p).splitlines()[1] == "|   |   |   |   |   |   |   |"
    assert markdown_answer_step(p).splitlines()[4] == "|   |   | step3 |   | step2 |   |   |"
    assert solutions(p) == "Across\n70+58=128\n62+16=78\n\nDown\n128÷8=16\n86-8=78"
    assert solving_steps(p) == {"step1": ["70+58=128", "86-8=78"], "step2": ["128÷8=16"], "step3": ["62+16=78"]}


def test_values_found_in_a_round_are_used_from_the_next_round_on():
    # A sequential sweep would solve 128÷8=? right after 70+58=? in the same pass; the rounds make it step 2.
    p = from_markdown(PUBLISHED)
    assert p.steps == {(0, 4): 1, (2, 6): 1, (4, 4): 2, (4, 2): 3}


def test_an_empty_cell_is_three_spaces_between_pipes():
    row = to_markdown(generate("easy", seed=1)).splitlines()[0]
    assert row.startswith("| ") and row.endswith(" |")
    assert "|    |" not in row and "||" not in row


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_every_format_parses_back_to_the_same_puzzle(name, difficulty):
    write, read = FORMATS[name]
    for i in range(25):
        p = generate(difficulty, seed=8, index=i)
        back = read(write(p))
        assert back == p
        assert back.answer == p.answer and back.steps == p.steps


def test_unsolved_parse_keeps_blanks_open():
    p = from_markdown(PUBLISHED, solve=False)
    assert not p.is_solved
    with pytest.raises(PuzzleError, match="no solution"):
        _ = p.answer


def test_dict_round_trip_keeps_labels():
    p = generate("hard", seed=3, index=2)
    back = Puzzle.from_dict(p.to_dict())
    assert back == p and back.info == p.info and hash(back) == hash(p)


def test_operator_glyph_variants_are_read():
    ascii_variant = PUBLISHED.replace("×", "*").replace("÷", "/")
    assert from_markdown(ascii_variant) == from_markdown(PUBLISHED)


def test_a_separator_line_is_tolerated():
    lines = PUBLISHED.splitlines()
    with_header = "\n".join([lines[0], "|---|---|---|---|---|---|---|", *lines[1:]])
    assert from_markdown(with_header) == from_markdown(PUBLISHED)


@pytest.mark.parametrize("text, message", [
    ("| 1 | + | 2 | = |", "run at row 0, column 0 has 4 cells"),
    ("| 1 | + | 2 | = | 3 | 4 |", "has 6 cells"),
    ("| 1 | ^ | 2 | = | 3 |", "not 'A op B = C'"),
    ("| 1 | + | x | = | 3 |", "neither a number nor"),
    ("| 1 | + | 2 | = | 3 |\n|   |", "different lengths"),
    ("1 + 2 = 3", "not a table row"),
    ("| 1 | + | 2 | = | 3 |   | 7 |", "belongs to no equation"),
    ("| ? | + | ? | = | 4 |", "more than one solution"),
    ("| 1 | + | 2 | = | 4 |", "is false"),
])
def test_bad_markdown_gets_a_clear_message(text, message):
    with pytest.raises(PuzzleError, match=message):
        from_markdown(text)


def test_record_has_the_published_keys_in_order():
    p = generate("medium", seed=1)
    record = to_record(p, img="test_images_hr/math_puzzle_0001.png",
                       img_blank="test_images_blank_hr/math_puzzle_0001_blank.png")
    assert list(record) == ["img", "img_blank", "problems", "operators", "difficulty", "range", "markdown_table",
                            "markdown_answer", "markdown_answer_step", "solutions", "solving_steps"]
    assert record["problems"] == len(p.equations) and record["operators"] == "+-*/"
    assert isinstance(record["range"], list) and record["difficulty"] == "medium"
    assert list(record["solving_steps"]) == [f"step{k}" for k in range(1, len(record["solving_steps"]) + 1)]
