"""One build at a time per output folder: an exclusive lock on a file beside it, released on any exit.

Two builds writing the same ``OUT.partial`` would tear each other's chunks; the second one is refused at once.
The lock is an ``flock`` on ``.OUT.lock`` (released by the kernel when the process dies, so a killed build never
leaves a stale lock); the file is removed when the build ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crossmath.errors import CrossmathError


class LockedError(CrossmathError):
    """Another build holds the output folder."""


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


@contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Hold the lock of ``out`` for the duration of the block, or raise LockedError when another build has it."""
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another build is writing to {out} (it holds {path}); wait for it to finish") from None
        if not path.exists() or os.stat(path).st_ino != os.fstat(handle).st_ino:
            # The build that held it finished and removed the file between our open and our lock: a new build
            # may already hold a new file of that name.
            raise LockedError(f"another build just finished writing to {out}; run the command again")
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        os.close(handle)
