"""crossmath: verified cross-math puzzles, rendered and serialized alike, for measuring the modality gap of VLMs."""

from crossmath._version import __version__
from crossmath.puzzles import Puzzle, PuzzleError, generate, solve

__all__ = ["Puzzle", "PuzzleError", "__version__", "generate", "solve"]
