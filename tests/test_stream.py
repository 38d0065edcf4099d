"""The puzzle stream (issue 20, item 1): item i is train row i of a build, endless, sharded, resumable, and never a
held-out puzzle; and the train split's interleaved difficulty order that makes this possible."""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import sys
from itertools import islice
from pathlib import Path
from typing import Any, cast

import datasets
import pytest
import torch
from datasets.distributed import split_dataset_by_node

import crossmath
from crossmath.dataset import BuildSettings, build
from crossmath.dataset.heldout import HeldOutError, held_out_keys
from crossmath.dataset.items import leak_key
from crossmath.dataset.settings import MAX_TRAIN_SIZE, mix_pattern
from crossmath.dataset.streaming import PositionStream
from crossmath.errors import SettingsError
from crossmath.puzzles.text import from_markdown
from crossmath.render import STYLES

ROOT = Path(__file__).parents[1]
SMALL = dataclasses.replace(STYLES["original"], name="small", cell_size=16, font_size=8, border_width=1)
"""A small style: the same drawing code at a fraction of the pixels, for the tests that read many rows."""

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "plain": ("beige", {"styles": (STYLES["original"], STYLES["beige"])}),
    "controlled variant": ("original-depth-3", {"styles": (STYLES["original"],), "vary": {"depth": [1, 3]}}),
    "generator setting": ("original", {"styles": (STYLES["original"],),
                                       "puzzle": {"operators": "+-", "equations": [5, 8]}, "train_mix": (1, 2, 1)}),
}


def raw(data: Any) -> Any:
    """Images as stored (PNG bytes), not decoded."""
    return data.cast_column("image", datasets.Image(decode=False))


def ids(data: Any, count: int) -> list[str]:
    return [row["id"] for row in islice(data.select_columns(["id"]), count)]


def row_key(row: dict) -> str:
    """The leak key of a row's puzzle, from its text: the grid with the answer filled in."""
    puzzle = from_markdown(row["markdown_table"], solve=False)
    return leak_key(puzzle.with_values(dict(zip(puzzle.blanks, map(int, row["answer"].split()), strict=True))))


@pytest.mark.parametrize("case", CASES)
def test_stream_item_i_is_built_train_row_i(case, tmp_path):
    style, settings = CASES[case]
    common = {"test_size": 4, "version": "test", **settings}
    out = tmp_path / "ds"
    build(out, BuildSettings(train_size=10, seed=5, **common), progress=False)
    built = list(raw(datasets.load_dataset(str(out), style, split="train")))
    streamed = list(islice(raw(crossmath.stream(style, seed=5, **common)), 10))
    assert [row["id"] for row in streamed] == [f"train-{i:05d}" for i in range(10)]
    assert streamed == built  # every column: ids, texts, answers, steps, image bytes
    assert len({row["difficulty"] for row in built}) == 3  # the interleaved mix reaches every difficulty in 10 rows


def test_streamed_ids_are_distinct_and_never_a_held_out_puzzle(tmp_path):
    held = tmp_path / "held"  # a build of exactly the puzzles the stream would start with: every one must be redrawn
    build(held, BuildSettings(train_size=20, test_size=0, seed=0, styles=(SMALL,), version="test"), progress=False)
    keys = held_out_keys(held)
    assert len(keys) == 20
    plain = list(islice(crossmath.stream("small", seed=0, images=False, styles=(SMALL,)), 20))
    assert {row_key(row) for row in plain} == keys
    data = crossmath.stream("small", seed=0, exclude=held, images=False, styles=(SMALL,))  # ids and texts only
    first = list(islice(data, 20))
    assert [row["id"] for row in first] == [row["id"] for row in plain]
    assert not {row_key(row) for row in first} & keys
    streamed = ids(data, 10_000)
    assert len(set(streamed)) == 10_000 and streamed[:3] == ["train-00000", "train-00001", "train-00002"]


def test_a_text_only_stream_is_the_imaged_stream_without_its_images():
    common: dict[str, Any] = {"seed": 3, "start": 2, "styles": (SMALL,), "solved_images": True}
    imaged = list(islice(raw(crossmath.stream("small", **common)).cast_column(
        "solved_image", datasets.Image(decode=False)), 6))
    text_only = list(islice(crossmath.stream("small", images=False, **common), 6))
    assert all(row["image"]["bytes"] and row["solved_image"]["bytes"] for row in imaged)
    assert text_only == [{**row, "image": None, "solved_image": None} for row in imaged]


def test_two_ranks_are_disjoint_and_together_one_ranks_first_2n():
    data = crossmath.stream("small", seed=1, styles=(SMALL,))
    ranks = [ids(split_dataset_by_node(data, rank=r, world_size=2), 6) for r in range(2)]
    assert not set(ranks[0]) & set(ranks[1])
    assert sorted(ranks[0] + ranks[1]) == ids(data, 12)


def test_dataloader_workers_read_disjoint_shards():
    data = crossmath.stream("small", seed=1, styles=(SMALL,)).select_columns(["id"])
    loader = torch.utils.data.DataLoader(data, batch_size=4, num_workers=2)
    seen = [i for batch in islice(loader, 4) for i in batch["id"]]
    assert sorted(seen) == [f"train-{i:05d}" for i in range(16)]


def test_stream_resumes_from_a_start_or_a_state_dict():
    data = raw(crossmath.stream("small", seed=2, styles=(SMALL,)))
    first = list(islice(data, 6))
    assert list(islice(raw(crossmath.stream("small", seed=2, start=4, styles=(SMALL,))), 2)) == first[4:6]
    reader = iter(data)
    for _ in range(3):
        next(reader)
    state = data.state_dict()
    data.load_state_dict(state)
    assert [row["id"] for row in islice(data, 2)] == ["train-00003", "train-00004"]


def test_rows_made_ahead_in_a_thread_are_the_same_rows_and_errors_reach_the_reader():
    plain = list(islice(raw(crossmath.stream("small", seed=6, styles=(SMALL,))), 8))
    assert list(islice(raw(crossmath.stream("small", seed=6, prefetch=3, styles=(SMALL,))), 8)) == plain

    def faulty(position: int) -> dict:
        if position == 5:
            raise SettingsError("no puzzle at 5")
        return {"id": position}

    reader = iter(PositionStream(faulty, prefetch=2))
    assert [next(reader)[0] for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(SettingsError, match="no puzzle at 5"):
        next(reader)


def test_train_split_interleaves_its_mix_in_every_prefix():
    settings = BuildSettings(train_size=1000, test_size=250)
    mix = settings.train_mix
    counts = [0, 0, 0]
    for n in range(1, 1001):
        counts[("easy", "medium", "hard").index(settings.difficulty("train", n - 1))] += 1
        assert all(abs(c - n * w / sum(mix)) < 1 for c, w in zip(counts, mix))
    assert settings.counts("train") == tuple(counts)
    assert settings.counts("test") == (90, 85, 75)  # the test split keeps the published order and counts
    assert [settings.difficulty("test", i) for i in (0, 89, 90, 174, 175, 249)] == ["easy", "easy", "medium",
                                                                                    "medium", "hard", "hard"]
    assert len(mix_pattern((90, 85, 75))) == 50


def test_bad_stream_input_is_one_clear_error(tmp_path):
    with pytest.raises(HeldOutError, match="not a crossmath build"):
        crossmath.stream(exclude=tmp_path)
    with pytest.raises(HeldOutError, match="no Hub dataset"):
        crossmath.stream(exclude="no-such-user/no-such-dataset")
    with pytest.raises(SettingsError, match="unknown stream settings: colour"):
        crossmath.stream(colour="red")
    with pytest.raises(SettingsError, match="no config 'nope'"):
        crossmath.stream("nope")
    starts: list[Any] = [-1, 1.5, True, "3"]
    for start in starts:
        with pytest.raises(SettingsError, match=f"start is a whole number, 0 or more, not {start!r}"):
            crossmath.stream(start=start)
    with pytest.raises(SettingsError, match="prefetch is a whole number, 0 or more, not -2"):
        crossmath.stream(prefetch=-2)
    with pytest.raises(SettingsError, match="images is True or False, not 'no'"):
        crossmath.stream(images=cast(Any, "no"))


def test_a_huge_train_size_is_refused_at_once_in_bounded_memory(tmp_path):
    """Issue 22, defect 11: planning 10**12 train items grew memory without end; now one line, at once."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))

    for how in (["--train-size", "1000000000000"], ["--experiment", str(tmp_path / "huge.toml")]):
        (tmp_path / "huge.toml").write_text("train_size = 1000000000000\n")
        done = subprocess.run([sys.executable, "-m", "crossmath.dataset.cli", "--out", str(tmp_path / "out"), *how],
                              capture_output=True, text=True, timeout=120, preexec_fn=limit,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"crossmath-build: error: the train split is limited to {MAX_TRAIN_SIZE} puzzles (got 1000000000000); "
            "for more, read crossmath.dataset.stream, which never ends"]
