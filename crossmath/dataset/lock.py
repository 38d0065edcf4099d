"""One build at a time per output folder (:func:`crossmath.locking.folder_lock`): two builds writing the same
``OUT.partial`` would tear each other's chunks, so the second one is refused at once."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from crossmath.locking import LockedError, folder_lock, lock_path

__all__ = ["LockedError", "build_lock", "lock_path"]


def build_lock(out: Path) -> AbstractContextManager[None]:
    """Hold the lock of ``out`` for the duration of the block, or raise LockedError when another build has it."""
    return folder_lock(out, "build")
