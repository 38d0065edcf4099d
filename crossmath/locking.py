"""One writer at a time per output folder: an exclusive lock on a file beside it, released on any exit.

Two processes writing the same folder would tear each other's files (two builds the chunks of ``OUT.partial``, two
runs the lines of ``predictions.jsonl``); the second one is refused at once, with the name of the first. The lock
is an ``flock`` on ``.OUT.lock`` (released by the kernel when the process dies, so a killed writer never leaves a
stale lock), which holds the writer's process id and command line and is removed when the writer ends, with the
folders made for it if they are left empty.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crossmath.errors import CrossmathError


class LockedError(CrossmathError):
    """Another process holds the output folder."""


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


def _holder() -> str:
    """This process as the lock file names it: its id, since when, and its command line's arguments."""
    return f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}: {shlex.join(sys.argv[1:])}".rstrip(": ")


@contextmanager
def folder_lock(out: Path, writer: str) -> Iterator[None]:
    """Hold the lock of ``out`` for the duration of the block, or raise LockedError naming the ``writer`` (``build``,
    ``crossmath-eval run``) that holds it."""
    path = lock_path(out)
    created = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]  # deepest first
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 4096, 0).decode("utf-8", "replace").strip() or f"it holds {path}"
            raise LockedError(f"another {writer} is writing to {out} ({holder}); wait for it to finish") from None
        if not path.exists() or os.stat(path).st_ino != os.fstat(handle).st_ino:
            # The writer that held it finished and removed the file between our open and our lock: a new writer
            # may already hold a new file of that name.
            raise LockedError(f"another {writer} just finished writing to {out}; run the command again")
        os.ftruncate(handle, 0)
        os.pwrite(handle, _holder().encode(), 0)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        os.close(handle)
        for folder in created:  # the folders made for the lock file, where the writer left them empty
            with contextlib.suppress(OSError):
                folder.rmdir()
