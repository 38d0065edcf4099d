"""Reading the answer out of a model's reply, the way the published scorer reads a prediction line."""

from __future__ import annotations

import re

ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)
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


def extract_answer(output: str) -> str | None:
    """The answer in a raw model reply, as a line of space-separated values; None when it gives none.

    Thinking (``<think>...</think>``) is skipped; the first ``<answer>`` tag counts, as in the published scorer;
    a reply that is nothing but numbers counts as a bare answer line. Anything else is no answer (and scores as
    wrong).
    """
    visible = THINKING.sub("", output)
    if ANSWER_TAG.search(visible) is None and not (visible.strip() and BARE_ANSWER.fullmatch(visible.strip())):
        return None
    return " ".join(answer_tokens(visible))
