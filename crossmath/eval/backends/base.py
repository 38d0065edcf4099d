"""The interface every inference engine implements: prompts in, generations out.

The rest of the evaluator only talks to this interface, so another engine (an OpenAI-compatible server, vLLM)
is one more module here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import Prompt


class BackendError(CrossmathError):
    """A model, processor or adapter that cannot be loaded or used as asked."""


@dataclass(frozen=True)
class Sampling:
    """How to generate; ``temperature == 0`` means greedy decoding."""

    num_samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    thinking: bool = False
    min_new_tokens: int = 0
    """Force replies to at least this length (throughput measurements use a fixed length)."""

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Generation:
    """One generated reply."""

    text: str
    tokens: int
    """Tokens generated (up to and including the end-of-sequence token)."""


class Backend(Protocol):
    def generate(self, prompts: Sequence[Prompt], sampling: Sampling, seed: int) -> list[tuple[int, list[Generation]]]:
        """For each prompt: its length in tokens and ``sampling.num_samples`` generations."""
        ...

    def describe(self) -> dict[str, Any]:
        """Model, adapter and library versions, for a run's config."""
        ...
