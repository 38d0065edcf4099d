"""The environment in verifiers' ``v1`` API (0.4): a taskset whose tasks carry the rows' chat prompts and whose
``@vf.reward`` methods are crossmath's rewards on the trace's last reply, weighted through the task config's
plugged reward weights (``--env.taskset.task.rewards.<name>.weight`` overrides ``weights``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from crossmath.integrations.verifiers import TASKSET_ID, defaults, rows

DEFAULTS = defaults()


class CrossmathData(vf.TaskData):
    """One puzzle's task data: the prompt (``TaskData.prompt``), its true answer, the markdown grid the
    consistency reward checks, its difficulty and the modality its prompt was built in."""

    answer: str
    puzzle: str
    difficulty: str
    modality: str


class CrossmathTask(vf.Task[CrossmathData]):
    """A puzzle to answer in one reply; its rewards (one method per reward, see :data:`rows.REWARDS`) are set
    below."""


def task_reward(reward: Callable[[str, str, str], float]) -> Callable[..., Any]:
    """``reward`` as a ``@vf.reward`` task method scoring the trace's last reply (named as ``reward`` is)."""
    async def score(self: CrossmathTask, trace: vf.Trace) -> float:
        return reward(trace.last_reply, self.data.answer, self.data.puzzle)
    score.__name__ = reward.__name__
    score.__doc__ = reward.__doc__
    return vf.reward(score)


for _reward in rows.REWARDS:
    setattr(CrossmathTask, _reward.__name__, task_reward(_reward))


class CrossmathConfig(vf.TasksetConfig):
    """The taskset's arguments (``--env.taskset.<name>``), those of crossmath's ``load_environment``."""

    size: int = DEFAULTS["size"]
    modality: str = DEFAULTS["modality"]
    text_format: str = DEFAULTS["text_format"]
    seed: int = DEFAULTS["seed"]
    style: str = DEFAULTS["style"]
    weights: tuple[float, float, float] = DEFAULTS["weights"]
    settings: dict[str, Any] = Field(default_factory=dict)
    """``BuildSettings`` fields of the stream."""


class CrossmathTaskset(vf.Taskset[CrossmathTask, CrossmathConfig]):
    """The stream's first ``size`` puzzles as tasks; bad arguments are refused when it is made."""

    def __init__(self, config: CrossmathConfig) -> None:
        self.rows = rows.Rows(config.size, config.modality, config.text_format, config.seed, config.style,
                              config.settings)
        super().__init__(config)

    def load(self) -> Iterator[CrossmathTask]:
        """The tasks, one per row, each with the task config weighted by ``weights``."""
        task_config = weighted(self.config.task, self.config.weights)
        for row in self.rows:
            data = CrossmathData.model_validate({"prompt": row["prompt"], "answer": row["answer"], **row["info"]})
            yield CrossmathTask(data, task_config)


def weighted(task: Any, weights: tuple[float, float, float]) -> Any:
    """``task`` (a ``vf.TaskConfig``) with each reward weighed by ``weights``, unless it plugs that reward
    itself."""
    plugged = {reward.__name__: vf.RewardFunctionConfig(weight=weight) for reward, weight in zip(rows.REWARDS,
                                                                                                 weights)}
    return task.model_copy(update={"rewards": plugged | task.rewards})


def environment(**taskset: Any) -> Any:
    """The ``SingleAgentEnv`` verifiers' own loader makes of the taskset with these arguments."""
    return vf.load_environment(vf.resolve_env_config({"taskset": {"id": TASKSET_ID, **taskset}}))
