"""What the assistant is trained to reply: the answer alone, or the solving rounds worked out, then the answer."""

from __future__ import annotations

from crossmath.errors import CrossmathError
from crossmath.eval.sources import EvalItem

TARGETS = ("answer", "steps")


def answer_reply(item: EvalItem) -> str:
    """``<answer>78 33 128 90</answer>``: the evaluator's answer contract and nothing else."""
    return f"<answer>{' '.join(item.answer)}</answer>"


def steps_reply(item: EvalItem) -> str:
    """The record's own solving rounds, one line per step (the equations that round solves), then the answer."""
    if not item.solving_steps:
        raise CrossmathError(f"puzzle {item.id} carries no solving steps; use --target answer")
    lines = [f"Step {k}: {', '.join(equations)}" for k, equations in enumerate(item.solving_steps, start=1)]
    return "\n".join([*lines, answer_reply(item)])


def reply(item: EvalItem, target: str) -> str:
    return steps_reply(item) if target == "steps" else answer_reply(item)
