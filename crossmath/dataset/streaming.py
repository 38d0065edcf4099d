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
import queue
import threading
from collections.abc import Callable, Iterator
from itertools import islice
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

BATCH = 10
"""Rows a stream makes at a time, phase by phase (:meth:`StreamRows.many`): generating puzzles, writing their text
and drawing their images each keep their working set in the CPU's caches over the batch instead of evicting each
other on every row (measured: ~4% more rows per second on one core than row by row, the same as batches of 20; a
reader that stops mid-batch has had at most 9 rows made for nothing)."""


class StreamRows:
    """Makes train row ``position`` of a build with ``settings`` in config ``config`` (picklable, for workers);
    without ``images`` its image columns are None and nothing is drawn."""

    def __init__(self, settings: BuildSettings, config: str, forbidden: frozenset[str], images: bool = True
                 ) -> None:
        names = [c.name for c in settings.configs]
        if config not in names:
            raise SettingsError(f"no config {config!r} in these settings; choose one of {', '.join(names)}")
        self.settings = settings
        self.config = settings.configs[names.index(config)]
        self.forbidden = forbidden
        self.images = images

    def puzzle(self, position: int) -> Puzzle:
        """The puzzle of row ``position`` (without drawing its image)."""
        return item_puzzles(self.settings, "train", position, self.forbidden)[0][self.config.name]

    def __call__(self, position: int) -> dict[str, Any]:
        return self.many([position])[0]

    def many(self, positions: list[int]) -> list[dict[str, Any]]:
        """The rows of ``positions``, made phase by phase (every puzzle, then every text, then every image; see
        :data:`BATCH`)."""
        puzzles = [self.puzzle(position) for position in positions]
        shared = [text_columns(puzzle, to_record(puzzle, img="", img_blank=""), self.settings) for puzzle in puzzles]
        return [config_row(item_id("train", position), puzzle, self.config, texts, self.settings, self.images)
                for position, puzzle, texts in zip(positions, puzzles, shared, strict=True)]


def made_ahead(made: Iterator[tuple[int, dict[str, Any]]], depth: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """The ``(position, row)`` pairs of ``made``, made by a thread up to ``depth`` rows ahead of the reader, so that
    making rows overlaps the reader's own work (a model step, which releases the GIL) on another core."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for pair in made:
                if not put(pair):
                    return
        except BaseException as exc:  # the reader raises it
            put(exc)

    threading.Thread(target=produce, daemon=True, name="crossmath-stream").start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class PositionStream(_BaseExamplesIterable):
    """``datasets``' examples iterable over the positions from ``start`` on whose residue mod :data:`LANES` is one
    of ``lanes``, in increasing order; resumable through ``IterableDataset.state_dict``. With ``prefetch`` a
    thread makes up to that many rows ahead of the reader. With ``many`` (rows of a list of positions) rows are
    made :data:`BATCH` at a time, so an error in a batch reaches the reader before the batch's earlier rows."""

    def __init__(self, rows: Callable[[int], dict[str, Any]], start: int = 0, lanes: range = range(LANES),
                 prefetch: int = 0, many: Callable[[list[int]], list[dict[str, Any]]] | None = None) -> None:
        super().__init__()
        self.rows, self.start, self.lanes, self.prefetch, self.many = rows, start, lanes, prefetch, many

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

    def made(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(position, row)`` pairs in the order of :meth:`positions`, made one by one or a batch at a time."""
        positions = self.positions()
        if self.many is None:
            yield from ((position, self.rows(position)) for position in positions)
            return
        while batch := list(islice(positions, BATCH)):
            yield from zip(batch, self.many(batch), strict=True)

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        made = made_ahead(self.made(), self.prefetch) if self.prefetch else self.made()
        for position, row in made:
            if isinstance(self._state_dict, dict):
                self._state_dict["next"] = position + 1
            yield position, row

    def shuffle_data_sources(self, generator: Any) -> PositionStream:
        return self  # the order is the content: item i is train row i

    def shard_data_sources(self, num_shards: int, index: int, contiguous: bool = True) -> PositionStream:
        """Every ``num_shards``-th source from the ``index``-th, contiguous or not: interleaved positions keep each
        shard near the front of the stream (a contiguous cut would start rank 2 of 2 a million items in)."""
        return PositionStream(self.rows, self.start, self.lanes[index::num_shards], self.prefetch, self.many)

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


def check_stream_options(start: object, prefetch: object, images: object) -> None:
    """SettingsError in one line unless ``start`` and ``prefetch`` are whole numbers, 0 or more (not bools), and
    ``images`` is a bool: checked first by each kind of stream, before any test split's keys are worked out."""
    for name, value in (("start", start), ("prefetch", prefetch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SettingsError(f"{name} is a whole number, 0 or more, not {value!r}")
    if not isinstance(images, bool):
        raise SettingsError(f"images is True or False, not {images!r}")


def stream_of(rows: Callable[[int], dict[str, Any]], settings: BuildSettings, start: int = 0, prefetch: int = 0,
              many: Callable[[list[int]], list[dict[str, Any]]] | None = None) -> datasets.IterableDataset:
    """The ``IterableDataset`` of ``rows`` from position ``start``, with the build's features (``start`` and
    ``prefetch`` checked by the caller, :func:`check_stream_options`); ``many`` makes rows a batch at a time."""
    info = datasets.DatasetInfo(features=features(settings))
    return datasets.IterableDataset(PositionStream(rows, start, prefetch=prefetch, many=many), info=info,
                                    split=datasets.Split.TRAIN)


def stream(style: str = "original", *, seed: int = 0, start: int = 0, exclude: str | Path | None = None,
           prefetch: int = 0, images: bool = True, **settings: Any) -> datasets.IterableDataset:
    """Endless train rows of config ``style``: item i equals train row i of ``crossmath-build --seed SEED`` with
    the same ``settings`` (``BuildSettings`` fields), from item ``start`` on; never a puzzle of ``exclude`` (a
    crossmath-build folder or Hub dataset id: its test split). ``prefetch=N`` makes up to N rows ahead in a
    thread, so a trainer's steps and the stream's work overlap. ``images=False`` is for readers of the text
    alone: the same rows with the image columns None, made without drawing or encoding a picture."""
    check_stream_options(start, prefetch, images)
    built = settings_for(seed, settings)
    rows = StreamRows(built, style, keys_of_test_split(built) | held_out_keys(exclude), images)
    return stream_of(rows, built, start, prefetch, rows.many)
