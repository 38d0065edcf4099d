"""crossmath: verified cross-math puzzles, rendered and serialized alike, for measuring the modality gap of VLMs.

``from crossmath import Puzzle, generate, solve, render``. Each name loads its part on first use, so the evaluator
(which only reads datasets) never loads the generator, and puzzle work never loads Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crossmath import _moved
from crossmath._version import __version__
from crossmath.errors import CrossmathError

_moved.install()

if TYPE_CHECKING:  # the real types for checkers and editors; at run time the names load lazily below
    from crossmath import render
    from crossmath.dataset.streaming import stream
    from crossmath.puzzles.generator import generate
    from crossmath.puzzles.model import Puzzle, PuzzleError
    from crossmath.puzzles.solver import solve

__all__ = ["CrossmathError", "Puzzle", "PuzzleError", "__version__", "generate", "render", "solve", "stream"]

_HOMES = {"Puzzle": "crossmath.puzzles", "PuzzleError": "crossmath.puzzles", "generate": "crossmath.puzzles",
          "solve": "crossmath.puzzles", "stream": "crossmath.dataset.streaming"}


def __getattr__(name: str) -> Any:
    if name == "render":
        return importlib.import_module("crossmath.render")
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'crossmath' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazily loaded names too, so ``dir(crossmath)`` and tab completion show the whole API."""
    return sorted(set(globals()) | set(__all__))
