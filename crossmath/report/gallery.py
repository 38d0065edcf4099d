"""The error gallery's contents: which puzzles to show, grouped by how the modalities disagree, most informative
first (solved from text but not from the image, then the reverse, then other disagreements, then wrong in every
modality; within a group, the puzzles on which the modalities differ in the most blanks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crossmath.eval.sources import EvalItem
from crossmath.report.outcomes import Run
from crossmath.report.summary import by_group

GROUP_TITLES = ("Solved from text, not from the image", "Solved from the image, not from text",
                "Other disagreements between modalities", "Wrong in every modality")


@dataclass(frozen=True)
class Entry:
    """One puzzle of one model and style, with every run that answered it."""

    model: str
    style: str
    id: str
    runs: dict[str, Run]
    rank: int
    """Index into :data:`GROUP_TITLES`."""
    pattern: str
    """Which modalities solved it and which did not, e.g. ``right: text · wrong: image, hybrid``."""
    disagreement: int
    """Blanks on which the modalities do not all agree."""

    @property
    def item(self) -> EvalItem | None:
        for run in self.runs.values():
            if run.items is not None and self.id in run.items:
                return run.items[self.id]
        return None

    def wrong_in(self) -> list[list[str]]:
        """Per blank, the modalities that got it wrong (majority of samples)."""
        rights = {m: run.puzzles[self.id].blanks_right for m, run in self.runs.items()}
        count = len(next(iter(rights.values())))
        return [[m for m, right in rights.items() if j < len(right) and not right[j]] for j in range(count)]


def classify(solved: dict[str, bool]) -> tuple[int, str] | None:
    """The gallery group of a puzzle from which modalities solved it (None when every one did)."""
    right = [m for m, ok in solved.items() if ok]
    wrong = [m for m, ok in solved.items() if not ok]
    if not wrong:
        return None
    pattern = f"right: {', '.join(right) or 'none'} · wrong: {', '.join(wrong)}"
    if solved.get("text") and solved.get("image") is False:
        return 0, pattern
    if solved.get("image") and solved.get("text") is False:
        return 1, pattern
    return (2 if right else 3), pattern


def select(runs: Sequence[Run], limit: int) -> list[Entry]:
    """The ``limit`` most informative wrongly answered puzzles over every model and style, in gallery order."""
    entries = []
    for (model, style), by_modality in by_group(runs).items():
        ids = sorted({pid for run in by_modality.values() for pid in run.puzzles})
        for pid in ids:
            present = {m: run for m, run in by_modality.items() if pid in run.puzzles}
            group = classify({m: run.puzzles[pid].solved for m, run in present.items()})
            if group is None:
                continue
            columns = list(zip(*(run.puzzles[pid].blanks_right for run in present.values())))
            disagreement = sum(len(set(column)) > 1 for column in columns)
            entries.append(Entry(model, style, pid, present, group[0], group[1], disagreement))
    entries.sort(key=lambda e: (e.rank, -e.disagreement, e.model, e.style, e.id))
    chosen = entries[:limit]
    chosen.sort(key=lambda e: (e.rank, e.pattern, -e.disagreement, e.model, e.style, e.id))
    return chosen
