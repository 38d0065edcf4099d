"""crossmath-build: train/test splits as a Hugging Face dataset (one config per style), the published layout, and
upload to the Hub."""

from crossmath.dataset.pipeline import BuildError, BuildReport, build, merge
from crossmath.dataset.settings import BuildSettings
from crossmath.dataset.streaming import stream

__all__ = ["BuildError", "BuildReport", "BuildSettings", "build", "merge", "stream"]
