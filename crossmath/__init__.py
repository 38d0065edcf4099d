"""crossmath: verified cross-math puzzles, rendered and serialized alike, for measuring the modality gap of VLMs.

``from crossmath import Puzzle, generate, solve, render``: ``render`` is the rendering module
(``render.render(puzzle, style="original")``), loaded on first use so that puzzle work never needs Pillow.
"""

from __future__ import annotations

import importlib
from typing import Any

from crossmath._version import __version__
from crossmath.puzzles import Puzzle, PuzzleError, generate, solve

__all__ = ["Puzzle", "PuzzleError", "__version__", "generate", "render", "solve"]


def __getattr__(name: str) -> Any:
    if name == "render":
        return importlib.import_module("crossmath.render")
    raise AttributeError(f"module 'crossmath' has no attribute {name!r}")
