"""Building one chunk: its puzzles, its rows in every style (Arrow parts of the Parquet files) and published-layout
pieces.

A chunk is written completely (files first, its record last, each renamed into place), so a build that stops at
any moment can resume by rebuilding only the chunks without a record.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crossmath.dataset.conflict import conflict_rows
from crossmath.dataset.files import read_json, write_atomic, write_json
from crossmath.dataset.items import item_puzzles, leak_key
from crossmath.dataset.parquet import part_path, write_part
from crossmath.dataset.rows import config_row, features, item_id, row_digest, text_columns
from crossmath.dataset.settings import BuildSettings, Chunk
from crossmath.puzzles.model import Puzzle
from crossmath.puzzles.published_names import published_names
from crossmath.puzzles.records import record_line, to_record
from crossmath.puzzles.solver import analyse

CHUNK_RECORDS = ".chunks"


@dataclass(frozen=True)
class ChunkResult:
    """What a finished chunk left behind: per-style digests, leak keys, redraw count."""

    split: str
    number: int
    rows: int
    digests: dict[str, str]
    keys: list[str]
    redrawn: int
    profile: dict[str, dict]
    """Per difficulty: puzzles, equations, blanks, and how many puzzles reach each deepest step (first config)."""
    config_profiles: dict[str, dict[str, dict]] = field(default_factory=dict)
    """The same for every config, when the configs hold different puzzles (a depth, blanks or grid factor)."""
    conflict_changes: dict[str, int] = field(default_factory=dict)
    """With conflict configs (test chunks): how many puzzles' twins change each number of shown cells."""

    @property
    def name(self) -> str:
        return f"{self.split}-{self.number:05d}"


def published_dir(root: Path, style: str) -> Path:
    """Folder of a style in the published layout (``published/data/<Folder>/``, e.g. ``Original``)."""
    return root / "published" / "data" / published_names(style).folder


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
    ids = [item_id(chunk.split, position) for position in range(chunk.start, chunk.stop)]
    texts: dict[int, tuple[dict, dict]] = {}  # by id(puzzle): configs holding the same puzzle share its text
    digests: dict[str, str] = {}
    rows_of: dict[str, list[dict]] = {}
    changes = Counter[int]()
    for config in settings.configs:
        if chunk.split not in settings.splits_of(config):
            continue
        shown = [item[config.name] for item in items]
        if config.conflict_of is not None:  # the plain config's rows (and images), with the twin's text added
            rows, changes = conflict_rows(rows_of[config.conflict_of], shown, config, settings.text_formats,
                                          settings.seed)
            digests[config.name] = hashlib.sha256("".join(row_digest(row) for row in rows).encode()).hexdigest()
            if "hf" in settings.outputs:
                write_part(part_path(root, config.name, chunk.name), rows, features(settings, config))
            continue
        for puzzle in shown:
            if id(puzzle) not in texts:
                record = to_record(puzzle, img="", img_blank="")  # image names differ by config
                texts[id(puzzle)] = record, text_columns(puzzle, record, settings)
        records = [texts[id(p)][0] for p in shown]
        rows = [config_row(i, p, config, texts[id(p)][1], settings) for i, p in zip(ids, shown, strict=True)]
        rows_of[config.name] = rows
        digests[config.name] = hashlib.sha256("".join(row_digest(row) for row in rows).encode()).hexdigest()
        if "hf" in settings.outputs:
            write_part(part_path(root, config.name, chunk.name), rows, features(settings, config))
        if "crossmath-jsonl" in settings.outputs:
            _write_published(root, config.name, chunk, rows, records)
    distinct = {id(p): p for item in items for p in item.values()}
    first = [item[settings.configs[0].name] for item in items]
    by_config = {config.name: _profile([item[config.name] for item in items]) for config in settings.configs
                 if settings.configs_differ}
    result = ChunkResult(chunk.split, chunk.number, len(items), digests,
                         sorted({leak_key(p) for p in distinct.values()}), redrawn, _profile(first), by_config,
                         {str(k): n for k, n in sorted(changes.items())})
    write_json(root / CHUNK_RECORDS / f"{chunk.name}.json", asdict(result))
    return result


def _profile(puzzles: list[Puzzle]) -> dict[str, dict]:
    profile: dict[str, dict] = {}
    for puzzle in puzzles:
        difficulty = puzzle.info.difficulty or "unknown"  # every built puzzle has one; the type allows None
        entry = profile.setdefault(difficulty, {"puzzles": 0, "equations": 0, "blanks": 0, "depths": {}})
        entry["puzzles"] += 1
        entry["equations"] += len(puzzle.equations)
        entry["blanks"] += len(puzzle.blanks)
        depth = str(analyse(puzzle).depth)
        entry["depths"][depth] = entry["depths"].get(depth, 0) + 1
    return profile


def _write_published(root: Path, style: str, chunk: Chunk, rows: list[dict], records: list[dict]) -> None:
    """The chunk's images in the style's published folder, and its records (naming those images) as a part file."""
    folder, names = published_dir(root, style), published_names(style)
    lines = []
    for position, row, record in zip(range(chunk.start, chunk.stop), rows, records):
        img, img_blank = names.image_names(position + 1, chunk.split)
        write_atomic(folder / img_blank, row["image"]["bytes"])
        if "solved_image" in row:
            write_atomic(folder / img, row["solved_image"]["bytes"])
        lines.append(record_line({**record, "img": img, "img_blank": img_blank}))
    write_atomic(record_part(root, style, chunk.name), "".join(lines).encode())


def finished_chunks(root: Path) -> dict[str, ChunkResult]:
    """The chunks already built in ``root``, by name."""
    folder = root / CHUNK_RECORDS
    if not folder.is_dir():
        return {}
    results = (ChunkResult(**read_json(path)) for path in sorted(folder.glob("*.json")))
    return {result.name: result for result in results}
