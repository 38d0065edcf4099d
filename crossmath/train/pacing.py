"""The curriculum in a training run: each logged step's mean correctness reward (the read reward, for ``--target
transcribe``) moves it, every log line records its level (``curriculum_level``), and every checkpoint keeps its
state, which ``--resume`` restores.

TRL logs the mean reward over the groups of every process, so each process moves its curriculum alike and the
ranks' streams stay at one level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossmath.dataset.curriculum import Curriculum, parse_curriculum
from crossmath.train.options import TrainOptions
from crossmath.train.rewards import REWARDS
from crossmath.train.targets import curriculum_reward

if TYPE_CHECKING:
    from transformers import TrainerCallback

STATE_FILE = "crossmath_curriculum.json"
"""The curriculum's state, in each ``checkpoint-N`` folder."""


def reward_key(options: TrainOptions) -> str:
    """The log entry of the mean reward that moves the curriculum, as TRL's GRPOTrainer names it."""
    return f"rewards/{REWARDS[curriculum_reward(options.target)].__name__}/mean"


def curriculum_of(options: TrainOptions) -> Curriculum | None:
    """The run's curriculum (checked in one line), or None without ``--curriculum``."""
    if options.curriculum is None:
        return None
    _, levels = parse_curriculum(options.curriculum)
    return Curriculum(len(levels), options.curriculum_threshold, options.curriculum_window,
                      lower=options.curriculum_lower)


def restore(curriculum: Curriculum, checkpoint: str | None) -> None:
    """Continue at the level (and window) the checkpoint was saved with."""
    path = Path(checkpoint) / STATE_FILE if checkpoint else None
    if path is not None and path.is_file():
        curriculum.restore(json.loads(path.read_text(encoding="utf-8")))


def curriculum_callback(curriculum: Curriculum, options: TrainOptions) -> TrainerCallback:
    from transformers import TrainerCallback

    class Pacing(TrainerCallback):
        """Moves the curriculum on each logged reward; adds its level to the log line; saves it with checkpoints."""

        def __init__(self) -> None:
            self.logged_step = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.logged_step = state.global_step  # a resumed run counts its groups from its checkpoint

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            if logs is None or key not in logs:
                return
            logs["curriculum_level"] = curriculum.level
            steps, self.logged_step = state.global_step - self.logged_step, state.global_step
            groups_per_step = options.batch_size * options.grad_accum * args.world_size // options.num_generations
            curriculum.observe(float(logs[key]), max(steps, 1) * groups_per_step)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                (folder / STATE_FILE).write_text(json.dumps(curriculum.state()) + "\n", encoding="utf-8")

    key = reward_key(options)
    return Pacing()
