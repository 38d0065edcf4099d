"""Puzzles: the model, the generator, the solver/verifier and the text serializations (no images, no models).

Names load on first use, so that reading records or text forms never loads the generator.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "PRESETS", "Analysis", "Cell", "Contradiction", "Equation", "GenerationError", "Puzzle", "PuzzleError",
    "PuzzleInfo", "analyse", "from_markdown", "generate", "solve", "to_markdown",
]

_HOMES = {
    "Analysis": "model", "Cell": "model", "Equation": "model", "Puzzle": "model", "PuzzleError": "model",
    "PuzzleInfo": "model", "Contradiction": "solver", "analyse": "solver", "solve": "solver",
    "from_markdown": "text", "to_markdown": "text",
    "GenerationError": "generator", "PRESETS": "generator", "generate": "generator",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"crossmath.puzzles.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'crossmath.puzzles' has no attribute {name!r}")
