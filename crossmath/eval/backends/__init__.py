"""Inference engines behind one small interface (:class:`Backend`)."""

from crossmath.eval.backends.base import Backend, BackendError, Generation, Sampling

__all__ = ["Backend", "BackendError", "Generation", "Sampling"]
