"""An endless stream of verified puzzles: item i is train row i of ``crossmath-build`` with the same settings.

The stream is a real ``datasets.IterableDataset`` over positions 0, 1, 2, ... of the train split, made on the fly
by the builder's own code (:func:`crossmath.dataset.items.item_puzzles`, :func:`crossmath.dataset.rows.config_row`),
so its rows equal a build's byte for byte, and never include a test puzzle of the same settings (nor, with
``exclude``, one of another build's held-out set).

Positions are dealt to shards by residue: the stream has :data:`LANES` data sources, source j holding the
positions congruent to j. ``split_dataset_by_node``, ``IterableDataset.shard`` and DataLoader workers each keep
every n-th source of those they have, so n ranks (or workers) read disjoint, interleaved positions (rank r of 2:
r, r + 2, r + 4, ...), whatever their number, and no rank generates a row another one reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import datasets
from datasets.iterable_dataset import _BaseExamplesIterable

from crossmath.dataset.heldout import held_out_keys
from crossmath.dataset.items import item_puzzles, keys_of_test_split
from crossmath.dataset.rows import config_row, features, item_id, text_columns
from crossmath.dataset.settings import BuildSettings
from crossmath.errors import SettingsError
from crossmath.puzzles.model import Puzzle
from crossmath.puzzles.records import to_record

LANES = 2**6 * 3**2 * 5 * 7 * 11 * 13
"""Data sources of a stream (2,882,880): divisible by every count of ranks or workers up to 16, and by 32 and 64,
so ``split_dataset_by_node`` gives each rank whole sources instead of skipping examples."""


class StreamRows:
    """Makes train row ``position`` of a build with ``settings`` in config ``config`` (picklable, for workers)."""

    def __init__(self, settings: BuildSettings, config: str, forbidden: frozenset[str]) -> None:
        names = [c.name for c in settings.configs]
        if config not in names:
            raise SettingsError(f"no config {config!r} in these settings; choose one of {', '.join(names)}")
        self.settings = settings
        self.config = settings.configs[names.index(config)]
        self.forbidden = forbidden

    def puzzle(self, position: int) -> Puzzle:
        """The puzzle of row ``position`` (without drawing its image)."""
        return item_puzzles(self.settings, "train", position, self.forbidden)[0][self.config.name]

    def __call__(self, position: int) -> dict[str, Any]:
        puzzle = self.puzzle(position)
        shared = text_columns(puzzle, to_record(puzzle, img="", img_blank=""), self.settings)
        return config_row(item_id("train", position), puzzle, self.config, shared, self.settings)


class PositionStream(_BaseExamplesIterable):
    """``datasets``' examples iterable over the positions from ``start`` on whose residue mod :data:`LANES` is one
    of ``lanes``, in increasing order; resumable through ``IterableDataset.state_dict``."""

    def __init__(self, rows: Callable[[int], dict[str, Any]], start: int = 0, lanes: range = range(LANES)) -> None:
        super().__init__()
        self.rows, self.start, self.lanes = rows, start, lanes

    def _init_state_dict(self) -> dict:
        self._state_dict = {"next": self.start, "type": type(self).__name__}
        return self._state_dict

    def positions(self) -> Iterator[int]:
        begin = cast(int, self._state_dict["next"]) if isinstance(self._state_dict, dict) else self.start
        cycle, offset = divmod(begin, LANES)
        while True:
            for lane in self.lanes:
                if lane >= offset:
                    yield cycle * LANES + lane
            cycle, offset = cycle + 1, 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for position in self.positions():
            row = self.rows(position)
            if isinstance(self._state_dict, dict):
                self._state_dict["next"] = position + 1
            yield position, row

    def shuffle_data_sources(self, generator: Any) -> PositionStream:
        return self  # the order is the content: item i is train row i

    def shard_data_sources(self, num_shards: int, index: int, contiguous: bool = True) -> PositionStream:
        """Every ``num_shards``-th source from the ``index``-th, contiguous or not: interleaved positions keep each
        shard near the front of the stream (a contiguous cut would start rank 2 of 2 a million items in)."""
        return PositionStream(self.rows, self.start, self.lanes[index::num_shards])

    def reshard_data_sources(self) -> PositionStream:
        return self

    @property
    def num_shards(self) -> int:
        return len(self.lanes)


def settings_for(seed: int, settings: dict[str, Any]) -> BuildSettings:
    """``BuildSettings`` from keyword settings (its field names) and the seed; unknown names in one line."""
    known = {f.name for f in dataclasses.fields(BuildSettings)} - {"seed"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise SettingsError(f"unknown stream settings: {', '.join(unknown)} (the settings are BuildSettings "
                            f"fields: {', '.join(sorted(known))})")
    return BuildSettings(**settings, seed=seed)


def stream_of(rows: Callable[[int], dict[str, Any]], settings: BuildSettings, start: int = 0
              ) -> datasets.IterableDataset:
    """The ``IterableDataset`` of ``rows`` from position ``start``, with the build's features."""
    if start < 0:
        raise SettingsError(f"start is a position of 0 or more, not {start}")
    info = datasets.DatasetInfo(features=features(settings))
    return datasets.IterableDataset(PositionStream(rows, start), info=info, split=datasets.Split.TRAIN)


def stream(style: str = "original", *, seed: int = 0, start: int = 0, exclude: str | Path | None = None,
           **settings: Any) -> datasets.IterableDataset:
    """Endless train rows of config ``style``: item i equals train row i of ``crossmath-build --seed SEED`` with
    the same ``settings`` (``BuildSettings`` fields), from item ``start`` on; never a puzzle of ``exclude`` (a
    crossmath-build folder or Hub dataset id: its test split)."""
    built = settings_for(seed, settings)
    rows = StreamRows(built, style, keys_of_test_split(built) | held_out_keys(exclude))
    return stream_of(rows, built, start)
