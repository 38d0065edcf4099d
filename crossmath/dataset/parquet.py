"""Parquet files as ``datasets`` writes them, sharded as ``datasets`` shards an upload to the Hub.

Each chunk leaves its rows of a style as an Arrow part (uncompressed, memory-mapped when read back). When the whole
build is there, each split of each style becomes ``{split}-NNNNN-of-NNNNN.parquet`` files written by ``datasets``'
own writer (content-defined chunking and a page index, so a re-upload of a changed build sends only changed pages),
cut into contiguous shards of at most ``datasets.config.MAX_SHARD_SIZE`` of in-memory data, as ``push_to_hub`` cuts
them. Shard boundaries depend on the data alone, never on how many processes built it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
from datasets.arrow_writer import ParquetWriter
from datasets.utils.py_utils import convert_file_size_to_int

from crossmath.dataset.files import write_atomic

PARTS = ".parts"


@dataclass(frozen=True)
class SplitFiles:
    """What the Parquet files of one split of one config hold, as the dataset card declares it."""

    num_examples: int
    num_bytes: int
    """In-memory Arrow size of the split, as ``datasets`` counts ``SplitInfo.num_bytes``."""
    download_size: int
    """Bytes of its Parquet files."""
    files: tuple[str, ...]


def part_path(root: Path, style: str, chunk_name: str) -> Path:
    return root / PARTS / style / f"{chunk_name}.arrow"


def write_part(path: Path, rows: list[dict[str, Any]], features: datasets.Features) -> None:
    """A chunk's rows of one style as an Arrow IPC file."""
    table = pa.Table.from_pylist(rows, schema=features.arrow_schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    write_atomic(path, sink.getvalue().to_pybytes())


def read_parts(paths: list[Path]) -> pa.Table:
    """The parts, in order, as one table (memory-mapped, not copied)."""
    return pa.concat_tables([pa.ipc.open_file(pa.memory_map(str(path))).read_all() for path in paths])


def shard_bounds(num_rows: int, num_bytes: int, max_shard_size: int | str | None = None) -> list[tuple[int, int]]:
    """Row ranges of the shards: as many as ``push_to_hub`` makes for this many bytes, each a contiguous run of
    rows with sizes differing by at most one (``Dataset.shard(n, i, contiguous=True)``)."""
    limit = convert_file_size_to_int(max_shard_size or datasets.config.MAX_SHARD_SIZE)
    count = max(1, min(num_rows, num_bytes // limit + 1))
    size, extra = divmod(num_rows, count)
    starts = [i * size + min(i, extra) for i in range(count + 1)]
    return list(pairwise(starts))


def write_split(folder: Path, split: str, table: pa.Table, features: datasets.Features,
                max_shard_size: int | str | None = None) -> SplitFiles:
    """Write one split of one config as Parquet shards into ``folder``; what they hold."""
    bounds = shard_bounds(table.num_rows, table.nbytes, max_shard_size)
    num_bytes = download_size = 0
    names = []
    for index, (start, stop) in enumerate(bounds):
        sink = pa.BufferOutputStream()
        writer = ParquetWriter(features=features, stream=sink)
        writer.write_table(table.slice(start, stop - start))
        _, written = writer.finalize()
        data = sink.getvalue().to_pybytes()
        name = f"{split}-{index:05d}-of-{len(bounds):05d}.parquet"
        write_atomic(folder / name, data)
        num_bytes += written
        download_size += len(data)
        names.append(name)
    return SplitFiles(table.num_rows, num_bytes, download_size, tuple(names))
