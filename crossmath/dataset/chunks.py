"""Building one chunk: its puzzles, its rows in every style, its Parquet files and published-layout pieces.

A chunk is written completely (files first, its record last, each renamed into place), so a build that stops at
any moment can resume by rebuilding only the chunks without a record.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crossmath.dataset.files import read_json, write_atomic, write_json
from crossmath.dataset.items import item_puzzles, leak_key
from crossmath.dataset.rows import config_row, features, row_digest, text_columns
from crossmath.dataset.settings import BuildSettings, Chunk
from crossmath.puzzles.model import Puzzle
from crossmath.puzzles.records import image_names, record_line, to_record

CHUNK_RECORDS = ".chunks"


@dataclass(frozen=True)
class ChunkResult:
    """What a finished chunk left behind: per-style digests and file sizes, leak keys, redraw count."""

    split: str
    number: int
    rows: int
    digests: dict[str, str]
    parquet_bytes: dict[str, int]
    keys: list[str]
    redrawn: int
    profile: dict[str, dict]
    """Per difficulty: puzzles, equations, blanks, and how many puzzles reach each deepest step."""

    @property
    def name(self) -> str:
        return f"{self.split}-{self.number:05d}"


def parquet_path(root: Path, style: str, chunk_name: str) -> Path:
    return root / "data" / style / f"{chunk_name}.parquet"


def published_dir(root: Path, style: str) -> Path:
    """Folder of a style in the published layout (``published/data/<Style>/``)."""
    return root / "published" / "data" / style.capitalize()


def record_part(root: Path, style: str, chunk_name: str) -> Path:
    return root / "published" / ".parts" / style / f"{chunk_name}.jsonl"


def build_chunk(root: Path, settings: BuildSettings, chunk: Chunk, forbidden: frozenset[str]) -> ChunkResult:
    """Build one chunk into ``root`` and record it as done."""
    items: list[dict[str, Puzzle]] = []
    redrawn = 0
    avoid = forbidden if chunk.split == "train" else frozenset()  # only train puzzles must differ from test ones
    for position in range(chunk.start, chunk.stop):
        puzzles, redraws = item_puzzles(settings, chunk.split, position, avoid)
        items.append(puzzles)
        redrawn += redraws > 0
    names = [image_names(position + 1, split=chunk.split) for position in range(chunk.start, chunk.stop)]
    ids = [f"{chunk.split}-{position:05d}" for position in range(chunk.start, chunk.stop)]
    schema = features(settings).arrow_schema
    texts: dict[int, tuple[dict, dict]] = {}  # by id(puzzle): configs holding the same puzzle share its text
    digests, sizes = {}, {}
    for config in settings.configs:
        shown = [item[config.name] for item in items]
        for puzzle, (img, img_blank) in zip(shown, names):
            if id(puzzle) not in texts:
                record = to_record(puzzle, img=img, img_blank=img_blank)
                texts[id(puzzle)] = record, text_columns(puzzle, record, settings)
        records = [texts[id(p)][0] for p in shown]
        rows = [config_row(i, p, config, texts[id(p)][1], settings) for i, p in zip(ids, shown)]
        digests[config.name] = hashlib.sha256("".join(row_digest(row) for row in rows).encode()).hexdigest()
        if "hf" in settings.outputs:
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
            write_atomic(parquet_path(root, config.name, chunk.name), buffer.getvalue())
            sizes[config.name] = buffer.tell()
        if "crossmath-jsonl" in settings.outputs:
            _write_published(root, config.name, chunk.name, names, rows, records)
    distinct = {id(p): p for item in items for p in item.values()}
    first = [item[settings.configs[0].name] for item in items]
    result = ChunkResult(chunk.split, chunk.number, len(items), digests, sizes,
                         sorted({leak_key(p) for p in distinct.values()}), redrawn, _profile(first))
    write_json(root / CHUNK_RECORDS / f"{chunk.name}.json", asdict(result))
    return result


def _profile(puzzles) -> dict[str, dict]:
    profile: dict[str, dict] = {}
    for puzzle in puzzles:
        entry = profile.setdefault(puzzle.info.difficulty, {"puzzles": 0, "equations": 0, "blanks": 0, "depths": {}})
        entry["puzzles"] += 1
        entry["equations"] += len(puzzle.equations)
        entry["blanks"] += len(puzzle.blanks)
        depth = str(puzzle.analysis.depth)
        entry["depths"][depth] = entry["depths"].get(depth, 0) + 1
    return profile


def _write_published(root: Path, style: str, chunk_name: str, names: list[tuple[str, str]], rows: list[dict],
                     records: list[dict]) -> None:
    folder = published_dir(root, style)
    for (img, img_blank), row in zip(names, rows):
        write_atomic(folder / img_blank, row["image"]["bytes"])
        if "solved_image" in row:
            write_atomic(folder / img, row["solved_image"]["bytes"])
    write_atomic(record_part(root, style, chunk_name), "".join(map(record_line, records)).encode())


def finished_chunks(root: Path) -> dict[str, ChunkResult]:
    """The chunks already built in ``root``, by name."""
    folder = root / CHUNK_RECORDS
    if not folder.is_dir():
        return {}
    results = (ChunkResult(**read_json(path)) for path in sorted(folder.glob("*.json")))
    return {result.name: result for result in results}
