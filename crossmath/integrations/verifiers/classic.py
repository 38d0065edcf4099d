"""The environment in verifiers' classic API (0.1 to 0.3): a ``SingleTurnEnv`` over the rows whose ``Rubric`` is
crossmath's rewards, each scoring the completion's last message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets
import verifiers as vf

from crossmath.integrations.verifiers import rows
from crossmath.train.rewards import reply_text


def rubric_func(reward: Callable[[str, str, str], float]) -> Callable[..., float]:
    """``reward`` as a rubric function of the completion, answer and info the rubric passes (named as it is)."""
    def score(completion: Any, answer: str, info: dict[str, Any], **_: Any) -> float:
        return reward(reply_text(completion), answer, info["puzzle"])
    score.__name__ = reward.__name__
    score.__doc__ = reward.__doc__
    return score


def environment(size: int, modality: str, text_format: str, seed: int, style: str,
                weights: tuple[float, float, float], settings: dict[str, Any], env_id: str) -> vf.SingleTurnEnv:
    """A single-turn environment of the rows, its rubric crossmath's rewards weighted by ``weights``."""
    examples = rows.Rows(size, modality, text_format, seed, style, settings)
    rubric = vf.Rubric(funcs=[rubric_func(reward) for reward in rows.REWARDS], weights=list(weights))
    data = datasets.Dataset.from_list(list(examples))
    return vf.SingleTurnEnv(dataset=data, eval_dataset=data, rubric=rubric, env_id=env_id)
