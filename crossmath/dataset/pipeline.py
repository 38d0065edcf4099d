"""Running a build: plan the chunks, build them in parallel, check for leaks, then finish the folder.

Work happens in ``OUT.partial`` and is renamed to ``OUT`` only when complete, so an interrupted build never
leaves a folder that looks finished; ``resume=True`` continues it. Shards (``shard=(k, n)``) build every n-th
chunk into their own folders, which :func:`merge` joins into the same dataset a single build makes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from crossmath.dataset.card import dataset_card
from crossmath.dataset.chunks import (
    CHUNK_RECORDS,
    ChunkResult,
    build_chunk,
    finished_chunks,
    published_dir,
    record_part,
)
from crossmath.dataset.experiment import EXPERIMENT_FILE
from crossmath.dataset.factors import png
from crossmath.dataset.files import read_json, write_atomic, write_json
from crossmath.dataset.items import keys_of_test_split, puzzle_at
from crossmath.dataset.settings import BuildSettings, Chunk, plan_chunks
from crossmath.errors import CrossmathError

MANIFEST = "crossmath_build.json"
PARTIAL_STATE = ".crossmath-partial.json"


class BuildError(CrossmathError):
    """A build that cannot start or cannot be finished as asked."""


@dataclass(frozen=True)
class BuildReport:
    """What a finished build (or shard) holds."""

    path: Path
    fingerprint: str
    rows: int
    leak_check: str
    shard: tuple[int, int]

    def lines(self) -> list[str]:
        kind = "dataset" if self.shard == (1, 1) else f"shard {self.shard[0]} of {self.shard[1]}"
        return [f"built {kind} in {self.path}: {self.rows} rows", f"leak check: {self.leak_check}",
                f"fingerprint: {self.fingerprint}"]


def existing_build(out: str | Path, settings: BuildSettings) -> BuildReport | None:
    """The report of a finished build in ``out`` made with exactly these settings, if there is one."""
    manifest_path = Path(out) / MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = read_json(manifest_path)
    if tuple(manifest["shard"]) != (1, 1) or BuildSettings.from_dict(manifest["settings"]) != settings:
        return None
    return BuildReport(Path(out), manifest["fingerprint"], manifest["rows"], manifest["leak_check"], (1, 1))


def _prepare(out: Path, settings: BuildSettings, shard: tuple[int, int], resume: bool, overwrite: bool) -> Path:
    partial = out.with_name(out.name + ".partial")
    if out.exists():
        if not overwrite:
            raise BuildError(f"{out} already exists; use --overwrite to replace it")
        if any(out.iterdir()) and not (out / MANIFEST).is_file():
            raise BuildError(f"{out} is not a crossmath build; refusing to overwrite it")
    state = {"settings": settings.digest(), "shard": list(shard)}
    if partial.exists():
        if not resume:
            raise BuildError(f"{partial} holds an unfinished build; use --resume to continue it, or delete it")
        found = read_json(partial / PARTIAL_STATE) if (partial / PARTIAL_STATE).is_file() else {}
        if found != state:
            raise BuildError(f"{partial} was started with different settings; refusing to resume it")
    else:
        partial.mkdir(parents=True)
        write_json(partial / PARTIAL_STATE, state)
    return partial


def build(out: str | Path, settings: BuildSettings, *, num_proc: int = 1, shard: tuple[int, int] = (1, 1),
          resume: bool = False, overwrite: bool = False, progress: bool = True) -> BuildReport:
    """Build the dataset (or one shard of it) into ``out``."""
    out = Path(out)
    k, n = shard
    if not 1 <= k <= n:
        raise BuildError(f"shard {k}/{n} does not exist: use K/N with 1 <= K <= N")
    partial = _prepare(out, settings, shard, resume, overwrite)
    chunks = plan_chunks(settings, shard)
    done = finished_chunks(partial)
    todo = [chunk for chunk in chunks if chunk.name not in done]
    forbidden = keys_of_test_split(settings) if any(c.split == "train" for c in todo) else frozenset()
    total = sum(c.stop - c.start for c in chunks)
    with tqdm(total=total, initial=total - sum(c.stop - c.start for c in todo), unit="puzzle", desc="building",
              disable=not progress or None, dynamic_ncols=True) as bar:
        _run(todo, lambda chunk: (partial, settings, chunk, forbidden), num_proc,
             lambda result: bar.update(result.rows))
    results = finished_chunks(partial)
    return _finish(partial, out, settings, [results[c.name] for c in chunks], shard)


def _run(todo: list[Chunk], arguments: Callable, num_proc: int, on_done: Callable[[ChunkResult], None]) -> None:
    if num_proc <= 1 or len(todo) <= 1:
        for chunk in todo:
            on_done(build_chunk(*arguments(chunk)))
        return
    with ProcessPoolExecutor(max_workers=min(num_proc, len(todo))) as pool:
        futures = [pool.submit(build_chunk, *arguments(chunk)) for chunk in todo]
        try:
            for future in as_completed(futures):
                on_done(future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _leak_check(results: list[ChunkResult], settings: BuildSettings) -> str:
    test = {key for r in results if r.split == "test" for key in r.keys}
    train = {key for r in results if r.split == "train" for key in r.keys}
    shared = test & train
    if shared:
        raise BuildError(f"{len(shared)} train puzzles equal test puzzles (up to blanks); the build is unusable")
    redrawn = sum(r.redrawn for r in results)
    return (f"no puzzle, up to which cells are blank, is in both train ({settings.train_size}) and test "
            f"({settings.test_size}); {redrawn} train draws were replaced to keep it so")


def fingerprint(results: list[ChunkResult], settings: BuildSettings) -> str:
    """A hash over every row and image of every style, in a fixed order."""
    lines = [f"{config.name}/{r.name}:{r.digests[config.name]}" for config in settings.configs for r in results]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _profiles(results: list[ChunkResult]) -> dict[str, dict[str, dict]]:
    merged: dict[str, dict[str, dict]] = {}
    for r in results:
        for difficulty, entry in r.profile.items():
            into = merged.setdefault(r.split, {}).setdefault(
                difficulty, {"puzzles": 0, "equations": 0, "blanks": 0, "depths": {}})
            for key in ("puzzles", "equations", "blanks"):
                into[key] += entry[key]
            for depth, count in entry["depths"].items():
                into["depths"][depth] = into["depths"].get(depth, 0) + count
    return merged


def _finish(partial: Path, out: Path, settings: BuildSettings, results: list[ChunkResult],
            shard: tuple[int, int]) -> BuildReport:
    whole = shard == (1, 1)
    leak = _leak_check(results, settings) if whole else "checked when the shards are merged"
    summary: dict[str, Any] = {
        "version": settings.version, "fingerprint": fingerprint(results, settings), "leak_check": leak,
        "rows": sum(r.rows for r in results) * len(settings.configs), "shard": list(shard),
        "profiles": _profiles(results), "settings": settings.to_dict(),
        "chunks": [vars(r) for r in results],
    }
    if whole:
        if settings.experiment:
            write_atomic(partial / EXPERIMENT_FILE, settings.experiment.encode())
        if "crossmath-jsonl" in settings.outputs:
            _join_published(partial, settings, results)
        if "hf" in settings.outputs:
            _write_card(partial, settings, summary, results)
    write_json(partial / MANIFEST, summary)
    (partial / PARTIAL_STATE).unlink()
    shutil.rmtree(partial / CHUNK_RECORDS)
    if out.exists():
        shutil.rmtree(out)
    os.replace(partial, out)
    return BuildReport(out, summary["fingerprint"], summary["rows"], leak, shard)


def _join_published(root: Path, settings: BuildSettings, results: list[ChunkResult]) -> None:
    for config in settings.configs:
        for split in ("test", "train"):
            parts = [record_part(root, config.name, r.name) for r in results if r.split == split]
            if parts:
                data = b"".join(part.read_bytes() for part in parts)
                write_atomic(published_dir(root, config.name) / f"{split}set_hr.jsonl", data)
    shutil.rmtree(root / "published" / ".parts")


def _write_card(root: Path, settings: BuildSettings, summary: dict, results: list[ChunkResult]) -> None:
    split_bytes: dict[str, dict[str, int]] = {}
    for config in settings.configs:
        for r in results:
            into = split_bytes.setdefault(config.name, {})
            into[r.split] = into.get(r.split, 0) + r.parquet_bytes.get(config.name, 0)
    write_atomic(root / "README.md", dataset_card(settings, summary, split_bytes).encode())
    first_split = "test" if settings.test_size else "train"
    example, _ = puzzle_at(settings, first_split, 0, frozenset())
    example_png = png(example, settings.configs[0], seed=settings.seed, key=f"{first_split}-00000")
    write_atomic(root / "example.png", example_png)


def merge(out: str | Path, shard_dirs: list[str | Path], *, overwrite: bool = False) -> BuildReport:
    """Join shard folders built with the same settings into the complete dataset."""
    out = Path(out)
    manifests = []
    for folder in map(Path, shard_dirs):
        if not (folder / MANIFEST).is_file():
            raise BuildError(f"{folder} is not a finished crossmath shard")
        manifests.append((folder, read_json(folder / MANIFEST)))
    settings = BuildSettings.from_dict(manifests[0][1]["settings"])
    if any(BuildSettings.from_dict(m["settings"]) != settings for _, m in manifests):
        raise BuildError("the shards were built with different settings")
    counts = {tuple(m["shard"])[1] for _, m in manifests}
    expected = {c.name for c in plan_chunks(settings)}
    results = {ChunkResult(**chunk).name: ChunkResult(**chunk) for _, m in manifests for chunk in m["chunks"]}
    if set(results) != expected or len(counts) != 1:
        missing = sorted(expected - set(results))
        raise BuildError(f"the shards do not cover the dataset: missing {', '.join(missing[:5]) or 'nothing'}")
    partial = _prepare(out, settings, (1, 1), resume=False, overwrite=overwrite)
    for folder, _ in manifests:
        for source in sorted(folder.rglob("*")):
            if source.is_file() and source.name != MANIFEST:
                target = partial / source.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    for name, result in results.items():
        write_json(partial / CHUNK_RECORDS / f"{name}.json", vars(result))
    ordered = [results[c.name] for c in plan_chunks(settings)]
    return _finish(partial, out, settings, ordered, (1, 1))


__all__ = ["BuildError", "BuildReport", "build", "existing_build", "fingerprint", "merge"]
