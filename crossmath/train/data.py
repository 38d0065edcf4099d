"""Training examples: the evaluator's items and prompts, with the reply to learn, as a Hugging Face dataset.

Items come from :func:`crossmath.eval.sources.load_items` and prompts from :func:`crossmath.eval.prompts.build_prompt`,
so an adapter is trained on exactly the messages (and template) that ``crossmath-eval run`` sends.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import DEFAULT_TEMPLATES, MODALITIES, TRANSCRIBE, build_prompt, check_template
from crossmath.eval.sources import EvalItem, load_items

if TYPE_CHECKING:
    import datasets
from crossmath.train.targets import reply

TRAIN_MODALITIES = (*MODALITIES, "mixed", TRANSCRIBE)
"""``mixed`` draws each example's modality from the three at random (seeded); ``transcribe`` is the transcription
prompt (the image alone), which ``--target transcribe`` trains."""


def training_items(source: str, styles: Sequence[str], split: str, limit: int | None = None) -> list[EvalItem]:
    """The items of every style (the same puzzle once per style)."""
    items = [item for style in styles for item in load_items(source, style, split, limit)]
    if not items:
        raise CrossmathError(f"{source} has no puzzles in split {split!r} of {', '.join(styles)}")
    return items


def hold_out(items: Sequence[EvalItem], size: int, seed: int) -> tuple[list[EvalItem], list[EvalItem]]:
    """Train and held-out items; ``size`` puzzles (by id, so every style of one puzzle stays together) held out."""
    ids = sorted({item.id for item in items})
    if size and size >= len(ids):
        raise CrossmathError(f"--eval-size {size} leaves nothing to train on ({len(ids)} puzzles)")
    held = set(random.Random(seed).sample(ids, size)) if size else set()
    return [i for i in items if i.id not in held], [i for i in items if i.id in held]


def modalities_for(count: int, modality: str, seed: int) -> list[str]:
    """Each example's modality: the one asked for, or for ``mixed`` one drawn per example from ``seed``."""
    if modality not in TRAIN_MODALITIES:
        raise CrossmathError(f"modality is one of {', '.join(TRAIN_MODALITIES)}; got {modality!r}")
    if modality != "mixed":
        return [modality] * count
    draw = random.Random(seed)
    return [draw.choice(MODALITIES) for _ in range(count)]


def templates_for(modality: str, template: str | None) -> dict[str, str]:
    """The prompt template of each modality used: the user's ``--prompt-file`` text or the evaluator's default."""
    used = MODALITIES if modality == "mixed" else (modality,)
    chosen = {m: template or DEFAULT_TEMPLATES[m] for m in used}
    for m, text in chosen.items():
        check_template(text, m)
    return chosen


def example_rows(items: Sequence[EvalItem], modalities: Sequence[str], *, templates: dict[str, str],
                 text_format: str, target: str | None, teacher: Mapping[str, str] | None = None
                 ) -> list[dict[str, Any]]:
    """One row per item in TRL's conversational form: ``prompt`` (the evaluator's messages), ``images`` (empty
    for a text prompt), and either ``completion`` (the reply to learn, for SFT) or, for GRPO (``target`` None),
    ``answer``, ``puzzle`` (the markdown table) and ``text_format`` (the text form the prompt asks for) for the
    reward functions. ``teacher`` holds the replies of ``--target self-distill`` by puzzle id."""
    rows = []
    for item, modality in zip(items, modalities):
        prompt = build_prompt(item, modality, text_format, templates[modality])
        row: dict[str, Any] = {"prompt": prompt.messages, "images": [] if prompt.image is None else [prompt.image]}
        if target is None:
            row.update(answer=" ".join(item.answer), puzzle=item.texts.get("markdown", ""), text_format=text_format)
        else:
            row["completion"] = [{"role": "assistant",
                                  "content": reply(item, target, text_format=text_format, teacher=teacher)}]
        rows.append(row)
    return rows


def to_dataset(rows: list[dict[str, Any]]) -> datasets.Dataset:
    """The rows as a ``datasets.Dataset`` (images stored as PNG, prompts as structured messages)."""
    import datasets

    return datasets.Dataset.from_list(rows)
