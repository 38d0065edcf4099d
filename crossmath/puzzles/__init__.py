"""Puzzles: the model, the generator, the solver/verifier and the text serializations (no images, no models)."""

from crossmath.puzzles.generator import PRESETS, GenerationError, generate
from crossmath.puzzles.model import Cell, Equation, Puzzle, PuzzleError, PuzzleInfo
from crossmath.puzzles.solver import Contradiction, Solution, solve

__all__ = [
    "Cell", "Contradiction", "Equation", "GenerationError", "PRESETS", "Puzzle", "PuzzleError", "PuzzleInfo",
    "Solution", "generate", "solve",
]
