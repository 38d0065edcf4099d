"""crossmath as a verifiers environment, for verifiers' classic API (0.1 to 0.3) and its ``verifiers.v1`` API
(0.4 on); :func:`load_environment` builds the one the installed verifiers has.

Its rows are the first ``size`` items of :func:`crossmath.dataset.stream` with the same seed and settings, as the
evaluator's prompts in text, image or hybrid form (image parts as lossless PNG data URLs, as crossmath-eval sends
them to an OpenAI-compatible server); its rewards are correctness (the benchmark's micro score), format and
consistency, weighted as ``weights`` say. Each version loads it through its own entry point:

- classic: ``verifiers.load_environment("crossmath.integrations.verifiers", size=..., ...)`` calls
  :func:`load_environment` here, which returns a ``SingleTurnEnv`` whose ``Rubric`` is the rewards;
- 0.4: the taskset id ``crossmath-verifiers`` (``vf-eval crossmath-verifiers --env.taskset.size 50``, or
  ``verifiers.v1.load_environment`` of an ``EnvConfig`` naming it) imports the top-level module
  ``crossmath_verifiers``, which exports :class:`~crossmath.integrations.verifiers.v1.CrossmathTaskset` (tasks
  whose ``@vf.reward`` methods are the rewards) and a tool-less chat harness; :func:`load_environment` returns
  that ``SingleAgentEnv``.
"""

from __future__ import annotations

import inspect
from typing import Any

import verifiers

ENV_ID = "crossmath.integrations.verifiers"
"""The module classic verifiers loads by name."""
TASKSET_ID = "crossmath-verifiers"
"""The taskset id verifiers 0.4 loads: it imports the top-level module ``crossmath_verifiers`` (0.4 resolves an
id to a top-level module only)."""


def classic_api() -> bool:
    """Whether the installed verifiers has the classic API at its root (0.1 to 0.3; 0.4 keeps only ``v1``)."""
    return hasattr(verifiers, "SingleTurnEnv")


def load_environment(size: int = 500, modality: str = "text", text_format: str = "markdown", seed: int = 0,
                     style: str = "original", weights: tuple[float, float, float] = (1.0, 0.2, 0.0),
                     **settings: Any) -> Any:
    """An environment of ``size`` crossmath puzzles in ``modality`` (text, image, hybrid or mixed); ``weights`` of
    correctness, format and consistency; ``settings`` are ``BuildSettings`` fields. A classic ``SingleTurnEnv``,
    or with verifiers 0.4 a ``verifiers.v1`` ``SingleAgentEnv`` over :data:`TASKSET_ID`."""
    if classic_api():
        from crossmath.integrations.verifiers.classic import environment
        return environment(size, modality, text_format, seed, style, weights, settings, ENV_ID)
    from crossmath.integrations.verifiers.v1 import environment as v1_environment
    return v1_environment(size=size, modality=modality, text_format=text_format, seed=seed, style=style,
                          weights=weights, settings=settings)


def defaults() -> dict[str, Any]:
    """:func:`load_environment`'s defaults by argument, so 0.4's taskset config has the same ones."""
    return {name: parameter.default for name, parameter in inspect.signature(load_environment).parameters.items()
            if parameter.default is not inspect.Parameter.empty}
