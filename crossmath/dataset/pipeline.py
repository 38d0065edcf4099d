"""Running a build: plan the chunks, build them in parallel, check for leaks, then finish the folder.

Work happens in ``OUT.partial`` and is renamed to ``OUT`` only when complete, so an interrupted build never
leaves a folder that looks finished; ``resume=True`` continues it. Shards (``shard=(k, n)``) build every n-th
chunk into their own folders, which :func:`merge` joins into the same dataset a single build makes.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from crossmath._cli import sigterm_interrupts
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
from crossmath.dataset.lock import build_lock
from crossmath.dataset.parquet import PARTS, SplitFiles, part_path, read_parts, write_split
from crossmath.dataset.rows import features
from crossmath.dataset.settings import CHUNK_SIZE, BuildSettings, Chunk, plan_chunks
from crossmath.errors import CrossmathError, SettingsError
from crossmath.puzzles.published_names import published_names
from crossmath.schema import MANIFEST

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


def output_folder(out: str | Path) -> Path:
    """``out`` as the absolute folder a build writes (a symlink followed to its target); refuses an empty name,
    a name that is not UTF-8 (Arrow cannot open it), the current folder and the folders above it, which a build
    would replace."""
    if not str(out).strip():
        raise BuildError("--out is empty: name the folder to write the dataset to, e.g. --out crossmath-data")
    try:
        str(out).encode("utf-8")
    except UnicodeEncodeError:
        raise BuildError(f"--out {str(out)!r} is not valid UTF-8; choose a name in UTF-8") from None
    path = Path(out).resolve()
    here = Path.cwd().resolve()
    if path == here or path in here.parents:
        raise BuildError(f"--out {str(out)!r} is the current folder or one above it, which the build would replace; "
                         "name a folder of its own, e.g. --out crossmath-data")
    return path


def _files_under(folder: Path) -> set[str]:
    """Every file under ``folder`` (symlinks not followed), as paths relative to it; a symlink to a folder and an
    empty folder count too (ending in ``/``), since no build writes either."""
    found: set[str] = set()
    for root, folders, names in os.walk(folder):
        here = Path(root)
        found.update((here / name).relative_to(folder).as_posix() for name in names)
        found.update(f"{(here / name).relative_to(folder).as_posix()}/" for name in folders
                     if (here / name).is_symlink())
        if here != folder and not folders and not names:
            found.add(f"{here.relative_to(folder).as_posix()}/")
    return found


def _foreign_files(out: Path) -> list[str]:
    """Files in ``out`` that no build wrote there (a finished build's manifest lists what it wrote)."""
    manifest = out / MANIFEST
    owned = set(read_json(manifest).get("files", [])) | {MANIFEST, PARTIAL_STATE} if manifest.is_file() else set()
    return sorted(_files_under(out) - owned)


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder holding files the build did not write (notes, results: the user's own)."""
    foreign = _foreign_files(out)
    if foreign and not (out / MANIFEST).is_file():
        raise BuildError(f"{out} is not a crossmath build; refusing to overwrite it")
    if foreign:
        listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BuildError(f"{out} holds files the build did not write ({listed}); move them out of the folder, "
                         "or build into another --out")


def _in_the_way(partial: Path) -> bool:
    """Whether ``partial`` exists but is not ours to resume or delete: a file, a symlink, or a folder holding
    anything without the state file a build writes first (the user's own folder of that name)."""
    if partial.is_symlink() or (partial.exists() and not partial.is_dir()):
        return True
    return partial.is_dir() and not (partial / PARTIAL_STATE).is_file() and bool(_files_under(partial))


def _prepare(out: Path, settings: BuildSettings, shard: tuple[int, int], resume: bool, overwrite: bool) -> Path:
    partial = out.with_name(out.name + ".partial")
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} is a file, not a folder; choose another --out")
    if out.exists():
        if not overwrite:
            raise BuildError(f"{out} already exists; use --overwrite to replace it")
        _check_replaceable(out)
    state = {"settings": settings.digest(), "shard": list(shard)}
    if _in_the_way(partial):
        raise BuildError(f"{partial} is in the way: it is not an unfinished crossmath build (it has no "
                         f"{PARTIAL_STATE}) and it is not an empty folder; move it away, or build into another --out")
    if partial.exists() and not resume:
        if not overwrite:
            raise BuildError(f"{partial} holds an unfinished build; use --resume to continue it, or --overwrite to "
                             "start again")
        shutil.rmtree(partial)  # ours alone (we hold the lock), and the user asked to start again
    if partial.exists():
        try:
            found = read_json(partial / PARTIAL_STATE)
        except (OSError, CrossmathError):
            raise BuildError(f"{partial} has lost its state file {PARTIAL_STATE}, so it cannot be resumed; use "
                             "--overwrite to start again") from None
        if found != state:
            raise BuildError(f"{partial} was started with different settings; refusing to resume it")
        for torn in Path(partial).rglob(".*.tmp-*"):  # half-written files of a killed worker
            torn.unlink()
    else:
        partial.mkdir(parents=True)
        write_json(partial / PARTIAL_STATE, state)
    return partial


def build(out: str | Path, settings: BuildSettings, *, num_proc: int = 1, shard: tuple[int, int] = (1, 1),
          resume: bool = False, overwrite: bool = False, progress: bool = True) -> BuildReport:
    """Build the dataset (or one shard of it) into ``out``.

    SIGTERM stops it as Ctrl-C does (KeyboardInterrupt); what was done stays in ``OUT.partial`` for ``resume``,
    at any moment, finishing included. A settings error found while building removes ``OUT.partial``, which
    could not be resumed by the corrected command anyway."""
    out = output_folder(out)
    k, n = shard
    if not 1 <= k <= n:
        raise BuildError(f"shard {k}/{n} does not exist: use K/N with 1 <= K <= N")
    chunks = plan_chunks(settings, shard)
    if not chunks:
        every = len(plan_chunks(settings))
        raise BuildError(f"shard {k}/{n} is empty: this build has only {every} chunk(s) of up to {CHUNK_SIZE} "
                         f"puzzles, so use at most {every} shards")
    with build_lock(out), sigterm_interrupts():
        partial = _prepare(out, settings, shard, resume, overwrite)
        if not (partial / MANIFEST).is_file():  # else every file was written: only the last steps are left
            try:
                _build_chunks(partial, settings, chunks, num_proc, progress)
            except SettingsError:
                shutil.rmtree(partial)
                raise
            results = finished_chunks(partial)
            _write_outputs(partial, settings, [results[c.name] for c in chunks], shard)
        return _complete(partial, out)


def _build_chunks(partial: Path, settings: BuildSettings, chunks: list[Chunk], num_proc: int,
                  progress: bool) -> None:
    """Build the chunks not yet finished in ``partial``."""
    done = finished_chunks(partial)
    todo = [chunk for chunk in chunks if chunk.name not in done]
    forbidden = keys_of_test_split(settings) if any(c.split == "train" for c in todo) else frozenset()
    total = sum(c.stop - c.start for c in chunks)
    with tqdm(total=total, initial=total - sum(c.stop - c.start for c in todo), unit="puzzle", desc="building",
              disable=not progress or None, dynamic_ncols=True) as bar:
        _run([(partial, settings, chunk, forbidden) for chunk in todo], num_proc,
             lambda result: bar.update(result.rows))


WORKER_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _work(share: list[tuple], results: Any) -> None:
    """A worker process: build its share of the chunks, sending each result (or the error that stopped it).

    It starts with SIGTERM and SIGINT blocked (see :func:`_run`); it dies at once on SIGTERM and leaves Ctrl-C to the
    main process, which stops it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)
    for arguments in share:
        try:
            results.put(build_chunk(*arguments))
        except BaseException as exc:  # the main process raises it (a bug keeps its traceback as text)
            results.put(exc if isinstance(exc, (CrossmathError, OSError)) else
                        RuntimeError(f"a build worker failed:\n{traceback.format_exc()}"))
            return


def _run(todo: list[tuple], num_proc: int, on_done: Callable[[ChunkResult], object]) -> None:
    if num_proc <= 1 or len(todo) <= 1:
        for arguments in todo:
            on_done(build_chunk(*arguments))
        return
    _run_parallel(todo, min(num_proc, len(todo)), on_done)


def _run_parallel(todo: list[tuple], workers: int, on_done: Callable[[ChunkResult], object]) -> None:
    """Build chunks in a fixed set of worker processes, each with its share, and stop every one of them on any exit
    (done, an error, Ctrl-C, SIGTERM). Unlike ``multiprocessing.Pool`` nothing replaces a worker that stops, so no
    worker can be started behind the main process's back and outlive it."""
    context = multiprocessing.get_context()
    results = context.SimpleQueue()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS)  # the workers unblock once they are ready
    try:
        processes = [context.Process(target=_work, args=(todo[k::workers], results), daemon=True)
                     for k in range(workers)]
        for process in processes:
            process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    try:
        for _ in todo:
            while not results._reader.poll(0.2):  # type: ignore[attr-defined]  # SimpleQueue: no public poll
                stopped = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if stopped:
                    raise BuildError(f"a build worker process stopped (exit code {stopped[0]}); rerun with "
                                     "--resume to continue")
            result = results.get()
            if isinstance(result, BaseException):
                raise result
            on_done(result)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join()


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
    lines = [f"{config.name}/{r.name}:{r.digests[config.name]}" for config in settings.configs for r in results
             if config.name in r.digests]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _profiles(parts: Iterable[tuple[str, dict[str, dict]]]) -> dict[str, dict[str, dict]]:
    """Chunks' difficulty profiles (split, profile) summed per split and difficulty."""
    merged: dict[str, dict[str, dict]] = {}
    for split, profile in parts:
        for difficulty, entry in profile.items():
            into = merged.setdefault(split, {}).setdefault(
                difficulty, {"puzzles": 0, "equations": 0, "blanks": 0, "depths": {}})
            for key in ("puzzles", "equations", "blanks"):
                into[key] += entry[key]
            for depth, count in entry["depths"].items():
                into["depths"][depth] = into["depths"].get(depth, 0) + count
    return merged


def _scratch(whole: bool) -> list[str]:
    """The working folders a build removes when it is done (a shard keeps its parts for the merge)."""
    return [CHUNK_RECORDS, PARTS, f"published/{PARTS}"] if whole else [CHUNK_RECORDS]


def _write_outputs(partial: Path, settings: BuildSettings, results: list[ChunkResult],
                   shard: tuple[int, int]) -> None:
    """Write the finished files from the chunks' parts, which stay until :func:`_complete`, and the manifest
    last: a build stopped before the manifest is there redoes this step when resumed."""
    whole = shard == (1, 1)
    leak = _leak_check(results, settings) if whole else "checked when the shards are merged"
    summary: dict[str, Any] = {
        "version": settings.version, "fingerprint": fingerprint(results, settings), "leak_check": leak,
        "rows": sum(r.rows * len(r.digests) for r in results), "shard": list(shard),
        "profiles": _profiles((r.split, r.profile) for r in results), "settings": settings.to_dict(),
        "chunks": [vars(r) for r in results],
    }
    if settings.conflict:
        changes = sum((Counter(r.conflict_changes) for r in results), Counter())
        summary["conflict_changes"] = {k: changes[k] for k in sorted(changes, key=int)}
    if settings.configs_differ:
        summary["config_profiles"] = {config.name: _profiles((r.split, r.config_profiles[config.name]) for r in results)
                                      for config in settings.configs}
    if whole:
        if settings.experiment:
            write_atomic(partial / EXPERIMENT_FILE, settings.experiment.encode())
        if "crossmath-jsonl" in settings.outputs:
            _join_published(partial, settings, results)
        if "hf" in settings.outputs:
            _write_card(partial, settings, summary, _write_parquet(partial, settings, results))
    scratch = tuple(f"{folder}/" for folder in _scratch(whole))
    summary["files"] = sorted(name for name in _files_under(partial) | {MANIFEST}
                              if name != PARTIAL_STATE and not name.startswith(scratch))
    write_json(partial / MANIFEST, summary)


def _complete(partial: Path, out: Path) -> BuildReport:
    """Remove the working folders, put the finished build in place of ``out`` and drop the state file last, so
    that a build stopped at any step here is still resumable (or already done)."""
    summary = read_json(partial / MANIFEST)
    shard = (summary["shard"][0], summary["shard"][1])
    for folder in _scratch(shard == (1, 1)):
        shutil.rmtree(partial / folder, ignore_errors=True)
    if out.exists():
        _check_replaceable(out)  # again: files may have been added while the build ran
        shutil.rmtree(out)
    os.replace(partial, out)
    (out / PARTIAL_STATE).unlink(missing_ok=True)
    return BuildReport(out, summary["fingerprint"], summary["rows"], summary["leak_check"], shard)


def _join_published(root: Path, settings: BuildSettings, results: list[ChunkResult]) -> None:
    for config in settings.configs:
        for split in ("test", "train"):
            parts = [record_part(root, config.name, r.name) for r in results if r.split == split]
            if parts:
                data = b"".join(part.read_bytes() for part in parts)
                write_atomic(published_dir(root, config.name) / published_names(config.name).records_file(split), data)


def _write_parquet(root: Path, settings: BuildSettings, results: list[ChunkResult]) -> dict[str, dict[str, SplitFiles]]:
    """Join the chunks' Arrow parts into each config's Parquet shards; per config and split, what they hold."""
    written: dict[str, dict[str, SplitFiles]] = {}
    for config in settings.configs:
        for split in settings.splits_of(config):
            parts = [part_path(root, config.name, r.name) for r in results if r.split == split]
            if parts:
                written.setdefault(config.name, {})[split] = write_split(
                    root / "data" / config.name, split, read_parts(parts), features(settings, config))
    return written


def _write_card(root: Path, settings: BuildSettings, summary: dict, files: dict[str, dict[str, SplitFiles]]) -> None:
    write_atomic(root / "README.md", dataset_card(settings, summary, files).encode())
    first_split = "test" if settings.test_size else "train"
    example, _ = puzzle_at(settings, first_split, 0, frozenset())
    example_png = png(example, settings.configs[0], seed=settings.seed, key=f"{first_split}-00000")
    write_atomic(root / "example.png", example_png)


def merge(out: str | Path, shard_dirs: list[str | Path], *, overwrite: bool = False) -> BuildReport:
    """Join shard folders built with the same settings into the complete dataset."""
    out = output_folder(out)
    manifests = []
    for folder in map(Path, shard_dirs):
        if not (folder / MANIFEST).is_file():
            raise BuildError(f"{folder} is not a finished crossmath shard")
        manifest = read_json(folder / MANIFEST)
        if tuple(manifest["shard"]) == (1, 1):
            raise BuildError(f"{folder} is a whole dataset, not a shard: it needs no merging (merge the folders "
                             "that crossmath-build --shard K/N wrote)")
        manifests.append((folder, manifest))
    settings = BuildSettings.from_dict(manifests[0][1]["settings"])
    if any(BuildSettings.from_dict(m["settings"]) != settings for _, m in manifests):
        raise BuildError("the shards were built with different settings")
    counts = sorted({tuple(m["shard"])[1] for _, m in manifests})
    if len(counts) != 1:
        raise BuildError(f"the shards come from different cuts ({' and '.join(f'K/{n}' for n in counts)}); "
                         "merge the shards of one --shard K/N series")
    expected = {c.name for c in plan_chunks(settings)}
    results = {ChunkResult(**chunk).name: ChunkResult(**chunk) for _, m in manifests for chunk in m["chunks"]}
    missing = sorted(expected - set(results))
    if missing:
        have = sorted(f"{m['shard'][0]}/{m['shard'][1]}" for _, m in manifests)
        raise BuildError(f"the shards do not cover the dataset: given {', '.join(have)}, missing chunks "
                         f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    with build_lock(out), sigterm_interrupts():
        return _merge_into(out, manifests, settings, results, overwrite)


def _merge_into(out: Path, manifests: list[tuple[Path, dict]], settings: BuildSettings,
                results: dict[str, ChunkResult], overwrite: bool) -> BuildReport:
    sources = [source for folder, manifest in manifests for source in _shard_files(folder, manifest)]
    partial = _prepare(out, settings, (1, 1), resume=False, overwrite=overwrite)
    for folder, source in sources:
        target = partial / source.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    for name, result in results.items():
        write_json(partial / CHUNK_RECORDS / f"{name}.json", vars(result))
    _write_outputs(partial, settings, [results[c.name] for c in plan_chunks(settings)], (1, 1))
    return _complete(partial, out)


def _shard_files(folder: Path, manifest: dict) -> list[tuple[Path, Path]]:
    """The files a shard's build wrote, as its manifest lists them, each a regular file inside ``folder``; anything
    else in the folder (notes, links) is left behind, so it never reaches the merged dataset or the Hub."""
    files = []
    for name in manifest.get("files", []):
        source = folder / name
        if name == MANIFEST:
            continue
        inside = source.resolve().is_relative_to(folder.resolve())
        if Path(name).is_absolute() or source.is_symlink() or not inside or not source.is_file():
            raise BuildError(f"{folder} is damaged: {name}, listed in its {MANIFEST}, is not a file the build "
                             "wrote there; build the shard again")
        files.append((folder, source))
    return files


__all__ = ["BuildError", "BuildReport", "build", "existing_build", "fingerprint", "merge"]
