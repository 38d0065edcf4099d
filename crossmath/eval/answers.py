"""Reading the answer out of a model's reply, the way the published scorer reads a prediction line.

One extraction for every reader: ``crossmath-eval run`` and ``score``, the trainer's rewards and the lmms-eval task
hooks all call :func:`extract_answer`, so the same reply gets the same figures wherever it is scored.
"""

from __future__ import annotations

import re

ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
REASONING_TAGS = (("<think>", "</think>"), ("<analysis>", "</analysis>"))
"""Reasoning blocks, as lmms-eval strips them by default (its ``--reasoning_tags``)."""
BARE_ANSWER = re.compile(r"[\d\s|,\t-]+")


def answer_tokens(line: str) -> list[str]:
    """A prediction line as answer tokens, exactly as the published scorer reads it: the first
    ``<answer>...</answer>`` if there is one, ``|``, ``,`` and tabs as separators, runs of spaces collapsed."""
    line = line.strip()
    tagged = ANSWER_TAG.search(line)
    if tagged is not None:
        line = tagged.group(1).strip()
    line = re.sub(r"\s+", " ", re.sub(r"[|,\t]+", " ", line)).strip()
    return line.split(" ") if line else []


def without_reasoning(output: str) -> str:
    """The reply without its reasoning, for each pair of :data:`REASONING_TAGS`: every closed block removed; with a
    closing tag left over (a chat template that pre-fills the opening one), only what follows the last one; with
    an opening tag never closed (reasoning cut off), nothing from it on."""
    for start, end in REASONING_TAGS:
        output = re.sub(f"{re.escape(start)}.*?{re.escape(end)}", "", output, flags=re.DOTALL | re.IGNORECASE)
        output = re.split(re.escape(end), output, flags=re.IGNORECASE)[-1]
        output = re.split(re.escape(start), output, maxsplit=1, flags=re.IGNORECASE)[0]
    return output


def extract_answer(output: str) -> str | None:
    """The answer in a raw model reply, as a line of space-separated values; None when it gives none.

    Reasoning is skipped (:func:`without_reasoning`: a draft answer inside it never counts); the first closed
    ``<answer>`` tag counts, as in the published scorer; a reply that is nothing but numbers counts as a bare answer
    line. Anything else is no answer (and scores as wrong), including an ``<answer>`` tag never closed: a reply cut
    off by its token limit inside the tag may hold only part of the answer.
    """
    visible = without_reasoning(output)
    if ANSWER_TAG.search(visible) is None and not (visible.strip() and BARE_ANSWER.fullmatch(visible.strip())):
        return None
    return " ".join(answer_tokens(visible))
