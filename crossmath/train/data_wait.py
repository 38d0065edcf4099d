"""How long training waits for its data: ``data_wait`` in every line of ``train_log.jsonl``.

The trainer fetches each step's batches between the end of one step (and its logging, saving and evaluating) and
the start of the next; that gap is the time the model sat idle waiting for examples. With ``--stream`` it says
whether the stream keeps up: near zero, the stream is never what training waits for; near the step time, it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import TrainerCallback

LOG_KEY = "data_wait"
"""Mean seconds per step spent waiting for batches since the previous log line."""


class DataWaitClock:
    """Adds up the gaps between "ready for data" (training began, or a step and its bookkeeping ended) and "a step
    begins", and gives their mean per step at each log line."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.ready: float | None = None
        self.waited = 0.0
        self.steps = 0

    def mark_ready(self) -> None:
        """Training now waits for its next batches (the step, or its logging or saving, is over)."""
        self.ready = self.clock()

    def step_begins(self) -> None:
        if self.ready is not None:
            self.waited += self.clock() - self.ready
            self.steps += 1
            self.ready = None

    def mean_since_last(self) -> float | None:
        """Mean wait per step since the last call (None when no step began since), and start counting again."""
        mean = self.waited / self.steps if self.steps else None
        self.waited, self.steps = 0.0, 0
        return mean


def data_wait_callback(clock: Callable[[], float] = time.perf_counter) -> TrainerCallback:
    """A callback that adds ``data_wait`` to the trainer's logs; add it before the callback that writes them."""
    from transformers import TrainerCallback

    class DataWait(TrainerCallback):
        def __init__(self) -> None:
            self.wait = DataWaitClock(clock)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.wait.mark_ready()

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.wait.step_begins()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.wait.mark_ready()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            mean = self.wait.mean_since_last()
            if logs is not None and mean is not None:
                logs[LOG_KEY] = round(mean, 6)
            self.wait.mark_ready()  # the time spent logging is not waiting for data

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.wait.mark_ready()

        def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.wait.mark_ready()

    return DataWait()
