"""What the assistant is trained to reply: the answer alone; the solving rounds worked out, then the answer; the
grid transcribed (reading, against the perception loss); or the model's own correct reply from a text-mode run
(self-distillation, against the reasoning loss under image input; see :mod:`crossmath.train.teacher`). GRPO samples
the reply instead, and scores it with the rewards of its kind: an answer's, or ``read`` for a transcription."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import TRANSCRIBE
from crossmath.eval.sources import EvalItem

SELF_DISTILL = "self-distill"
TARGETS = ("answer", "steps", TRANSCRIBE, SELF_DISTILL)
SFT_ONLY = (SELF_DISTILL,)
"""Targets that are replies to imitate, which GRPO (trained on rewards) has no use for."""
GRID_REWARDS = ("read",)
"""The GRPO rewards that score a transcription (``<grid>``); the others score an answer (``<answer>``)."""


def answer_reply(item: EvalItem) -> str:
    """``<answer>78 33 128 90</answer>``: the evaluator's answer contract and nothing else."""
    return f"<answer>{' '.join(item.answer)}</answer>"


def steps_reply(item: EvalItem) -> str:
    """The record's own solving rounds, one line per step (the equations that round solves), then the answer."""
    if not item.solving_steps:
        raise CrossmathError(f"puzzle {item.id} carries no solving steps; use --target answer")
    lines = [f"Step {k}: {', '.join(equations)}" for k, equations in enumerate(item.solving_steps, start=1)]
    return "\n".join([*lines, answer_reply(item)])


def transcribe_reply(item: EvalItem, text_format: str) -> str:
    """The row's own table in ``text_format`` inside ``<grid></grid>``: the transcription contract, ``?`` at the
    blanks."""
    if text_format not in item.texts:
        raise CrossmathError(f"puzzle {item.id} has no {text_format} text to transcribe; choose another "
                             "--text-format")
    return f"<grid>\n{item.texts[text_format]}\n</grid>"


def check_target(target: str, modality: str, method: str, teacher_run: str | None) -> None:
    """Refuse, in one line, a target with a prompt or method it cannot train."""
    if method != "sft" and target in SFT_ONLY:
        raise CrossmathError(f"--target {target} is a reply to imitate: use it with --method sft")
    if (target == TRANSCRIBE) != (modality == TRANSCRIBE):
        raise CrossmathError("--target transcribe trains the transcription prompt (the image alone): use it with "
                             "--modality transcribe or without --modality, and --modality transcribe only with it")
    if target == SELF_DISTILL and modality not in ("image", "hybrid"):
        raise CrossmathError(f"--target self-distill trains reasoning under image input: use --modality image or "
                             f"hybrid, not {modality}")
    if teacher_run is not None and target != SELF_DISTILL:
        raise CrossmathError("--teacher-run is for --target self-distill")


def default_rewards(target: str) -> tuple[str, ...]:
    """The GRPO rewards of a target when ``--rewards`` is not given: reading for a transcription, else the
    answer's correctness and format."""
    return GRID_REWARDS if target == TRANSCRIBE else ("correctness", "format")


def check_rewards(target: str, rewards: Sequence[str]) -> None:
    """Refuse, in one line, GRPO rewards that score another kind of reply than the target asks for."""
    reading = target == TRANSCRIBE
    wrong = [name for name in rewards if (name in GRID_REWARDS) != reading]
    named = f"--rewards {','.join(wrong)} score{'s' if len(wrong) == 1 else ''}"
    if wrong and reading:
        raise CrossmathError(f"{named} an <answer>, and --target transcribe asks for a <grid>: use --rewards "
                             f"{','.join(GRID_REWARDS)}")
    if wrong:
        raise CrossmathError(f"{named} a <grid> transcription: use it with --target transcribe")


def curriculum_reward(target: str) -> str:
    """The reward whose mean moves a curriculum: reading for a transcription, else correctness."""
    return GRID_REWARDS[0] if target == TRANSCRIBE else "correctness"


def reply(item: EvalItem, target: str, *, text_format: str = "markdown",
          teacher: Mapping[str, str] | None = None) -> str:
    """The reply to learn for ``item``; ``teacher`` holds the self-distillation replies by puzzle id."""
    if target == "steps":
        return steps_reply(item)
    if target == TRANSCRIBE:
        return transcribe_reply(item, text_format)
    if target == SELF_DISTILL:
        if teacher is None or item.id not in teacher:
            raise CrossmathError(f"puzzle {item.id} has no teacher reply to distil")
        return teacher[item.id]
    return answer_reply(item)
