"""Transcriptions scored as a person would score them: tolerant parsing, alignment by the best offset, and the
misread cells named."""

import json
import tracemalloc

import pytest

from crossmath.eval.transcripts import (
    MAX_GRID_CHARS,
    blank_equation_cells,
    explained,
    grid_text,
    parse_grid,
    score_reading,
    true_grid,
)

TABLE = """\
| 3 | + | ? | = | 8 |
|   |   | × |   |   |
|   |   | 2 |   |   |
|   |   | = |   |   |
|   |   | 10 |   |   |"""
TRUTH = true_grid(TABLE)
ALL_CELLS = [(0, 0, "3"), (0, 1, "+"), (0, 2, "?"), (0, 3, "="), (0, 4, "8"), (1, 2, "×"), (2, 2, "2"),
             (3, 2, "="), (4, 2, "10")]


def rows(*lines: str) -> str:
    return "\n".join(lines)


def test_the_table_itself_in_prose_fences_and_other_spellings_is_read_exactly() -> None:
    replies = [
        TABLE,
        f"Here is my transcription.\n```markdown\n<grid>\n{TABLE}\n</grid>\n```\nDone.",
        "<think>a grid | of | cells</think>" + f"<grid>{TABLE}</grid>",
        rows("3 | + | ? | = | 8", " | | x | | ", " | | 2 | | ", " | | = | | ", " | | 10 | | "),  # no outer pipes
        rows("|  **3** |+|？| ＝ |８|", "||| * |||", "|||０２|||", "|||=|||", "|||10|||"),  # widths, full-width
    ]
    for reply in replies:
        reading = score_reading(TRUTH, reply)
        assert reading.exact, (reply, reading)
        assert reading.counts == {"numbers": (4, 4), "operators": (2, 2), "equals": (2, 2), "blanks": (1, 1)}
        assert reading.empty == 16


@pytest.mark.parametrize("text_format, filler", [("markdown", "| 1 | 2 |\n"), ("csv", "1,2\n"),
                                                 ("cells", "99 99 1\n")])
def test_a_10_mb_reply_is_read_up_to_the_cap_in_bounded_memory(text_format: str, filler: str) -> None:
    reply = grid_text(TRUTH, text_format) + "\n" + filler * (10_000_000 // len(filler))
    tracemalloc.start()
    try:
        reading = score_reading(TRUTH, reply, text_format)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16_000_000  # parsing all 10 MB held hundreds of MB
    assert reading.counts["numbers"] == (4, 4) and not reading.misread
    assert parse_grid(" " * MAX_GRID_CHARS + TABLE) is None  # a table beyond the cap is not read


def test_operator_and_minus_spellings_are_one_glyph() -> None:
    grid = parse_grid(rows("| 9 | − | 3 | = | 6 |", "| 8 | / | 2 | : | 4 |", "| 8 | x | 2 | ✕ | 16 |"))
    assert grid == [["9", "-", "3", "=", "6"], ["8", "÷", "2", "÷", "4"], ["8", "×", "2", "×", "16"]]


def test_misread_cells_are_named_with_their_true_and_read_content() -> None:
    reply = TABLE.replace("| 8 |", "| 3 |").replace("| × |", "| + |").replace("| 10 |", "| 18 |")
    reply = reply.replace("| 2 |   |   |", "| 2 | 7 |   |")
    reading = score_reading(TRUTH, reply)
    assert reading.misread == ((0, 4, "8", "3"), (1, 2, "×", "+"), (4, 2, "10", "18"))
    assert reading.extra == ((2, 3, "7"),)
    assert reading.shape_ok and not reading.exact
    assert reading.counts["numbers"] == (2, 4) and reading.counts["operators"] == (1, 2)


def test_a_reply_shifted_down_and_right_is_aligned_not_scored_as_all_wrong() -> None:
    shifted = rows("|   |   |   |   |   |   |", *("|   " + line for line in TABLE.splitlines()))
    reading = score_reading(TRUTH, shifted)
    assert reading.offset == (1, 1) and reading.misread == () and reading.extra == ()
    assert reading.shape == (6, 6) and not reading.shape_ok and not reading.exact


def test_a_header_and_separator_row_are_skipped_over() -> None:
    reply = rows("| c1 | c2 | c3 | c4 | c5 |", "|---|---|:---:|---|---|", TABLE)
    reading = score_reading(TRUTH, reply)
    assert reading.offset == (1, 0) and reading.misread == () and reading.extra == ()
    assert reading.shape == (6, 5) and not reading.shape_ok


def test_a_truncated_reply_misreads_the_rows_it_lacks() -> None:
    reading = score_reading(TRUTH, rows(*TABLE.splitlines()[:3]))
    assert reading.offset == (0, 0) and reading.shape == (3, 5)
    assert reading.misread == ((3, 2, "=", ""), (4, 2, "10", ""))


def test_a_reply_missing_its_first_row_is_aligned_by_the_rest() -> None:
    reading = score_reading(TRUTH, rows(*TABLE.splitlines()[1:]))
    assert reading.offset == (-1, 0)
    assert reading.misread == tuple((r, c, t, "") for r, c, t in ALL_CELLS if r == 0)


def test_extra_rows_of_other_content_below_do_not_count_against_the_grid() -> None:
    reading = score_reading(TRUTH, rows(TABLE, "| sum | 23 |   |   |   |"))
    assert reading.offset == (0, 0) and reading.misread == () and reading.extra == ()
    assert reading.shape == (6, 5) and not reading.exact


def test_a_transposed_reply_is_a_wrong_reading() -> None:
    transposed = [list(column) for column in zip(*TRUTH)]
    reading = score_reading(TRUTH, grid_text(transposed, "markdown"))
    assert reading.offset == (0, 0)  # two cells agree there (3 and 2), more than at any other shift
    assert reading.misread == ((0, 1, "+", ""), (0, 2, "?", ""), (0, 3, "=", ""), (0, 4, "8", ""),
                               (1, 2, "×", ""), (3, 2, "=", ""), (4, 2, "10", ""))
    assert reading.extra == ((1, 0, "+"), (2, 0, "?"), (2, 1, "×"), (2, 3, "="), (2, 4, "10"), (3, 0, "="),
                             (4, 0, "8"))


@pytest.mark.parametrize("reply", ["", "I cannot read the image.", "<grid></grid>", "<grid>\n|   |   |\n</grid>"])
def test_an_empty_or_tableless_reply_misreads_every_cell(reply: str) -> None:
    reading = score_reading(TRUTH, reply)
    assert not reading.parsed and reading.shape is None and not reading.shape_ok
    assert reading.misread == tuple((r, c, t, "") for r, c, t in ALL_CELLS)
    assert reading.record()["parsed"] is False


def test_other_text_forms_parse_to_the_same_grid() -> None:
    expected = parse_grid(TABLE)
    assert parse_grid("<grid>" + json.dumps(TRUTH) + "</grid>", "json") == expected
    assert parse_grid("Grid:\n" + grid_text(TRUTH, "csv"), "csv") == expected
    assert parse_grid(grid_text(TRUTH, "cells"), "cells") == expected
    assert parse_grid("[[1, 2", "json") is None


def test_a_wrong_answer_is_explained_by_a_misread_cell_of_an_equation_through_a_wrong_blank() -> None:
    assert blank_equation_cells(TRUTH) == [{(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 2), (3, 2), (4, 2)}]
    assert explained(TRUTH, [False], {(4, 2)}) is True
    assert explained(TRUTH, [False], set()) is False
    assert explained(TRUTH, [True], {(4, 2)}) is None
