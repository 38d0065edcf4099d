"""The interface every inference engine implements: prompts in, generations out.

The rest of the evaluator only talks to this interface: the transformers engine runs models in this process, the
OpenAI engine sends requests to any OpenAI-compatible server (vLLM, SGLang, hosted APIs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

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
    tokens: int | None
    """Tokens generated (up to and including the end-of-sequence token); None where a server does not say."""
    truncated: bool = False
    """Whether the reply was cut off by ``max_new_tokens``."""
    finish_reason: str | None = None
    """Why a server stopped (``stop``, ``length``, ...)."""
    usage: dict[str, int] | None = None
    """The server's token counts (``prompt_tokens``, ``completion_tokens``) of the request that produced this reply,
    on its first reply only, so that summing over replies gives the totals the server reported."""
    error: str | None = None
    """Why the request failed after its retries; such a reply is recorded as failed, never scored."""


class Backend(Protocol):
    def generate(self, prompts: Sequence[Prompt], sampling: Sampling,
                 seed: int) -> list[tuple[int | None, list[Generation]]]:
        """For each prompt: its length in tokens (None where unknown) and ``sampling.num_samples`` generations."""
        ...

    def describe(self) -> dict[str, Any]:
        """Model, adapter and library versions, for a run's config."""
        ...


@runtime_checkable
class ChecksPrompts(Protocol):
    """An engine that can tell, without generating, whether its model takes a kind of prompt at all (a PaliGemma
    processor takes no prompt without an image)."""

    def refusal(self, prompt: Prompt) -> str | None:
        """Why the model cannot take prompts like ``prompt``, in one line; None when it can."""
        ...
