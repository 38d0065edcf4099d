"""Which modality a model trusts: on a conflict config (:mod:`crossmath.dataset.conflict`) a hybrid prompt shows
the image of puzzle A with the text of its twin B. Over the blanks whose answers differ, each reply's value either
follows the image (A's value), follows the text (B's value), or neither (another value, or none). Shares pool the
differing blanks of every sample; their 95% intervals resample puzzles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crossmath.eval.answers import answer_tokens
from crossmath.report.outcomes import Run
from crossmath.report.stats import Estimate, accuracy
from crossmath.report.tables import Table

KINDS = ("image", "text", "neither")


@dataclass(frozen=True)
class Reliance:
    """One model on one conflict config, in hybrid mode: the share of differing blanks per kind, in percent."""

    model: str
    style: str
    image: Estimate
    text: Estimate
    neither: Estimate
    counts: dict[str, int]
    """Replies' values at differing blanks, per kind, summed over samples."""
    blanks: int
    """Differing blanks counted (blanks times samples)."""


def follows(value: str | None, image: str, text: str) -> str:
    """``image``, ``text`` or ``neither``: whose value a reply gave at a blank where A and B differ."""
    return "image" if value == image else "text" if value == text else "neither"


def run_reliance(run: Run) -> Reliance | None:
    """The reliance of a hybrid run on a conflict config; None for any other run (or an unreadable dataset)."""
    if run.modality != "hybrid" or run.items is None:
        return None
    per_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    totals: list[float] = []
    for pid, outcome in run.puzzles.items():
        item = run.items.get(pid)
        if item is None or not item.conflict_answer:
            continue
        differ = [j for j, (a, b) in enumerate(zip(item.answer, item.conflict_answer, strict=True)) if a != b]
        found = dict.fromkeys(KINDS, 0)
        for answer in outcome.answers:
            tokens = answer_tokens(answer or "")
            for j in differ:
                found[follows(tokens[j] if j < len(tokens) else None, item.answer[j], item.conflict_answer[j])] += 1
        for kind in KINDS:
            per_kind[kind].append(found[kind])
        totals.append(len(differ) * len(outcome.answers))
    shares = {kind: accuracy(per_kind[kind], totals) for kind in KINDS}
    if any(share is None for share in shares.values()):
        return None
    image, text, neither = (shares[kind] for kind in KINDS)
    assert image is not None and text is not None and neither is not None
    return Reliance(run.model, run.style, image, text, neither,
                    {kind: int(sum(per_kind[kind])) for kind in KINDS}, int(sum(totals)))


def reliance_rows(runs: Sequence[Run]) -> list[Reliance]:
    """The reliance of every hybrid run on a conflict config, in the order given."""
    return [found for found in map(run_reliance, runs) if found is not None]


def reliance_table(rows: Sequence[Reliance]) -> Table | None:
    if not rows:
        return None
    return Table("Which modality the model follows (conflict configs, hybrid, %)",
                 "The image shows puzzle A, the text its twin B. Over blanks whose answers differ: the share of "
                 "replies giving A's value (image), B's value (text) or another (neither), mean [95% bootstrap "
                 "interval over puzzles].",
                 ("model", "config", "image", "text", "neither", "blanks"),
                 tuple((r.model, r.style, r.image.cell(), r.text.cell(), r.neither.cell(), str(r.blanks))
                       for r in rows))
