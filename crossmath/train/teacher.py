"""Self-distillation (``--target self-distill --teacher-run RUN_DIR``): the model's own correct replies from a
text-mode run of the same puzzles become the replies it learns to give under image input ("Reading, Not
Thinking"). A puzzle whose teacher reply is wrong, truncated or missing is left out, and the counts are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossmath.errors import CrossmathError
from crossmath.eval.rundir import PREDICTIONS, answered, read_config, read_predictions
from crossmath.eval.sources import EvalItem, describe_source, source_fingerprint


class TeacherError(CrossmathError):
    """A teacher run that cannot teach this training run."""


@dataclass(frozen=True)
class TeacherReplies:
    """Per puzzle id, the teacher's first correct, complete reply; and how many puzzles were left out, by reason."""

    run: Path
    replies: dict[str, str]
    left_out: dict[str, int]

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.left_out.items())
        return (f"self-distill: {len(self.replies)} puzzles with a correct teacher reply from {self.run}; left out: "
                f"{reasons}")


def check_teacher_run(path: str | None, dataset: str, split: str) -> dict:
    """The teacher run's ``config.json``, refused in one line unless it is a text-mode run of this dataset and
    split."""
    if not path:
        raise TeacherError("--target self-distill needs --teacher-run RUN_DIR: a crossmath-eval text-mode run of "
                           "the same puzzles")
    folder = Path(path)
    if not (folder / PREDICTIONS).is_file():
        raise TeacherError(f"--teacher-run {folder} is not a crossmath-eval run folder (no config.json and "
                           "predictions.jsonl)")
    config = read_config(folder)
    if config.get("modality") != "text":
        raise TeacherError(f"--teacher-run {folder} answered in {config.get('modality')} mode; self-distillation "
                           "learns from a text-mode run (crossmath-eval run --modality text)")
    if config.get("split") != split:
        raise TeacherError(f"--teacher-run {folder} answered split {config.get('split')!r}, not {split!r}")
    if config.get("dataset") != describe_source(dataset):
        raise TeacherError(f"--teacher-run {folder} answered {config.get('dataset')}, not {describe_source(dataset)}")
    recorded = config.get("dataset_fingerprint")
    actual = source_fingerprint(dataset, str(config.get("style")), split)
    if recorded and actual and recorded != actual:
        raise TeacherError(f"--teacher-run {folder} answered another build of {dataset} (fingerprint {recorded}, "
                           f"it now has {actual})")
    return config


def teacher_replies(path: str, items: Sequence[EvalItem]) -> TeacherReplies:
    """For each puzzle of ``items``, the teacher's first sample that is right in every blank and not truncated. A
    puzzle without one is left out as ``truncated`` when a sample was cut by the token limit, else ``wrong`` (or
    ``not answered`` when the run has no answered sample of it)."""
    folder = Path(path)
    by_id: dict[str, list[dict]] = {}
    for record in answered(read_predictions(folder / PREDICTIONS)):
        by_id.setdefault(str(record["id"]), []).append(record)
    replies: dict[str, str] = {}
    left_out = {"wrong": 0, "truncated": 0, "not answered": 0}
    for pid in dict.fromkeys(item.id for item in items):
        records = sorted(by_id.get(pid, []), key=lambda r: r["sample"])
        good = [r for r in records if r.get("correct") and all(r["correct"]) and not r.get("truncated")]
        if good:
            replies[pid] = str(good[0].get("output", ""))
        elif not records:
            left_out["not answered"] += 1
        elif any(r.get("truncated") for r in records):  # cut by the token limit: its answer may be wrong or lost
            left_out["truncated"] += 1
        else:
            left_out["wrong"] += 1
    if not replies:
        raise TeacherError(f"--teacher-run {folder} has no correct, complete reply for any of the "
                           f"{sum(left_out.values())} training puzzles; nothing to distil")
    return TeacherReplies(folder, replies, left_out)
