"""Evaluation items from a built dataset folder, a Hub dataset id, or a file in the published JSONL layout.

The evaluator reads datasets only: everything it needs (the image, the text forms, the answer, the step level of
each blank, the difficulty) is a column of the built dataset or a key of a published record.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from crossmath.errors import CrossmathError
from crossmath.puzzles.published_names import puzzle_name
from crossmath.puzzles.records import json_kind
from crossmath.puzzles.text import layer_cells
from crossmath.schema import CONFLICT_PREFIX, FACTOR_PREFIX, MANIFEST, TEXT_COLUMNS

"""Text formats a prompt can carry, and the dataset column that holds each."""


class SourceError(CrossmathError):
    """A dataset that cannot be read, or lacks what the evaluation needs."""


@dataclass(frozen=True)
class EvalItem:
    """One puzzle as the evaluator sees it."""

    id: str
    answer: tuple[str, ...]
    """The blanks' values in reading order, as text."""
    steps: tuple[str, ...]
    """The step label of each blank (``step1``, ``step2``, ...)."""
    difficulty: str | None
    texts: dict[str, str]
    """The puzzle in each available text format."""
    load_file: Callable[[], bytes] = field(repr=False, compare=False)
    """The image file's bytes as stored (a PNG in crossmath datasets)."""
    solving_steps: tuple[tuple[str, ...], ...] = ()
    """For each step k, the equations solved in round k, written solved (the record's ``solving_steps``)."""
    factors: dict[str, Any] = field(default_factory=dict)
    """The levels of the factors varied in its config (the row's ``factor_*`` columns; empty when none)."""
    conflict_texts: dict[str, str] = field(default_factory=dict)
    """In a conflict config, twin B in each text format (the ``conflict_*`` columns): a hybrid prompt shows it
    beside the image of this puzzle (A). Empty elsewhere."""
    conflict_answer: tuple[str, ...] = ()
    """In a conflict config, B's answer (the blanks' values in reading order); empty elsewhere."""

    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.load_file())).convert("RGB")


def load_items(source: str, style: str, split: str, limit: int | None = None) -> list[EvalItem]:
    """The items of one style and split of ``source``; ``limit`` keeps the first N."""
    path = Path(source)
    if path.suffix == ".jsonl" or path.is_file():
        if not path.is_file():
            raise SourceError(f"no such file: {source}")
        items = _published_items(path)
    else:
        items = _dataset_items(source, style, split)
    return items[:limit] if limit is not None else items


def _published_items(path: Path) -> list[EvalItem]:
    from crossmath.puzzles.records import iter_records

    images, items = [], []
    for number, record in iter_records(path):
        for key in ("img_blank", "markdown_answer", "markdown_answer_step", "markdown_table"):
            if not isinstance(record.get(key), str):
                found = f"is {json_kind(record[key])}, not text" if key in record else "is missing"
                raise SourceError(f"{path}:{number}: {key} {found}")
        for key in ("img", "img_blank"):
            _check_inside(path, number, key, record.get(key))
        image = record["img_blank"]
        answer = layer_cells(record["markdown_answer"])
        steps = layer_cells(record["markdown_answer_step"])
        texts = {"markdown": record["markdown_table"]}
        rounds = record.get("solving_steps") or {}
        if not isinstance(rounds, dict) or not all(isinstance(eqs, list) for eqs in rounds.values()):
            raise SourceError(f"{path}:{number}: solving_steps is not an object of step -> list of equations")
        images.append(image)
        items.append(EvalItem("", tuple(answer), tuple(steps), _difficulty(path, number, record), texts,
                              (path.parent / image).read_bytes, tuple(tuple(map(str, eqs)) for eqs in rounds.values())))
    return [replace(item, id=name) for item, name in zip(items, unique_ids(images))]


def _difficulty(path: Path, number: int, record: dict[str, Any]) -> str | None:
    """A record's difficulty as text (reports filter and group by it): a whole number names a level too (``5`` as
    ``"5"``); a list, an object or a fraction is refused, naming the line."""
    value = record.get("difficulty")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SourceError(f"{path}:{number}: difficulty is {json_kind(value)}, not text such as \"medium\"")


def unique_ids(images: list[str]) -> list[str]:
    """Ids of published items, named by their image (``math_puzzle_0001`` in every style's layout); where names
    repeat in different folders, by the image's folder and name instead (``a/math_puzzle_0001``), so every id is
    unique."""
    short = [puzzle_name(image) for image in images]
    if len(set(short)) == len(short):
        return short
    ids = [str(Path(image).parent / puzzle_name(image)).removeprefix("./") for image in images]
    repeated = [name for name in ids if ids.count(name) > 1]
    if repeated:
        raise SourceError(f"the puzzle image {repeated[0]!r} appears twice in the file; ids must be unique")
    return ids


def _check_inside(path: Path, number: int, key: str, relative: Any) -> None:
    """Refuse an image path that is not text or that leads out of the records file's folder (``../x.png``, an
    absolute path, a symlink out): a records file must not make the evaluator read files elsewhere."""
    if relative is None:
        return
    if not isinstance(relative, str):
        raise SourceError(f"{path}:{number}: {key} is {json_kind(relative)}, not a path")
    folder = path.parent.resolve()
    if Path(relative).is_absolute() or not (folder / relative).resolve().is_relative_to(folder):
        raise SourceError(f"{path}:{number}: {key} {relative!r} leads out of the folder of {path.name}; image "
                          "paths must be relative paths inside it")


def _dataset_items(source: str, style: str, split: str) -> list[EvalItem]:
    import datasets

    try:
        data = datasets.load_dataset(source, style, split=split)
    except Exception as exc:  # datasets raises many types for a missing config, split or repo
        raise SourceError(f"cannot load {source!r} config {style!r} split {split!r}: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    missing = {"id", "image", "answer", "blank_steps"} - set(data.column_names)
    if missing:
        raise SourceError(f"{source} lacks the columns {', '.join(sorted(missing))}; is it a crossmath build?")
    texts_of = {name: column for name, column in TEXT_COLUMNS.items() if column in data.column_names}
    twins_of = {name: CONFLICT_PREFIX + column for name, column in TEXT_COLUMNS.items()
                if CONFLICT_PREFIX + column in data.column_names}
    factor_columns = [name for name in data.column_names if name.startswith(FACTOR_PREFIX)]
    plain = data.remove_columns(["image"] + [c for c in ("solved_image",) if c in data.column_names])
    files = data.select_columns(["image"]).cast_column("image", datasets.Image(decode=False))
    items = []
    for position, row in enumerate(plain):
        items.append(EvalItem(
            row["id"], tuple(row["answer"].split()), tuple(f"step{k}" for k in row["blank_steps"]),
            row.get("difficulty"), {name: row[column] for name, column in texts_of.items()},
            partial(_file_at, files, position), tuple(map(tuple, row.get("solving_steps") or ())),
            {name.removeprefix(FACTOR_PREFIX): row[name] for name in factor_columns},
            {name: row[column] for name, column in twins_of.items()},
            tuple((row.get("conflict_answer") or "").split())))
    return items


def _file_at(files: Any, position: int) -> bytes:
    image = files[position]["image"]
    return image["bytes"] if image["bytes"] is not None else Path(image["path"]).read_bytes()


def describe_source(source: str) -> str:
    """How a source is named in configs and reports: a path made absolute, or the Hub id as given."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def source_fingerprint(source: str, style: str, split: str) -> str | None:
    """What identifies a dataset's content: the build fingerprint of a crossmath-build folder, the SHA-256 of a
    published JSONL file, or the fingerprint ``datasets`` gives a Hub dataset's split (stable for one revision)."""
    path = Path(source)
    manifest = path / MANIFEST
    if manifest.is_file():
        return json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint")
    if path.is_file():
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    if path.exists():
        return None
    import datasets

    return datasets.load_dataset(source, style, split=split)._fingerprint


def source_revision(source: str) -> str | None:
    """The commit hash of a Hub dataset's snapshot in the local cache (None for local files and folders)."""
    if Path(source).exists():
        return None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "README.md", repo_type="dataset")
    return Path(cached).parent.name if isinstance(cached, str) else None


def slug(text: str) -> str:
    """A folder-safe name for a model or adapter: a local folder's name, or a Hub id with ``/`` as ``__``; never
    ``.`` or ``..`` (a model given as ``..`` is named by the folder it means), so run folders stay inside
    ``--output``."""
    path = Path(text)
    name = path.resolve().name if path.exists() else text.strip("/").replace("/", "__")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-80:].strip(".") or "model"
