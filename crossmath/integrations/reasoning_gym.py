"""crossmath as a reasoning-gym dataset: importing this module registers ``crossmath`` with reasoning-gym's own
registry, so ``reasoning_gym.create_dataset("crossmath", seed=..., size=...)`` gives text puzzles.

Item i is the puzzle of train row i of :func:`crossmath.dataset.stream` with the same seed and generator settings
(verified, never a test puzzle of those settings); the question is the evaluator's text prompt, the answer the
blanks' values in reading order, and :meth:`CrossmathDataset.score_answer` the benchmark's micro score (the share
of blanks right by position).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reasoning_gym.dataset import ProceduralDataset
from reasoning_gym.factory import DATASETS, register_dataset

from crossmath.dataset.items import keys_of_test_split
from crossmath.dataset.rows import item_id
from crossmath.dataset.settings import DIFFICULTIES, PUBLISHED_TEST_MIX, BuildSettings
from crossmath.dataset.streaming import StreamRows
from crossmath.eval.prompts import DEFAULT_TEMPLATES, prompt_text
from crossmath.puzzles.text import FORMATS
from crossmath.render.styles import STYLES
from crossmath.train.rewards import micro_score

NAME = "crossmath"
GENERATOR_SETTINGS = ("equations", "depth", "blanks", "operators", "number_range", "max_rows", "max_cols")


@dataclass
class CrossmathConfig:
    """reasoning-gym's config of the crossmath dataset: difficulty, generator settings, text form, seed, size."""

    difficulty: str | None = None
    """easy, medium or hard; None for the published mix (90:85:75)."""
    equations: int | list[int] | None = None
    depth: int | None = None
    blanks: int | None = None
    operators: str | None = None
    number_range: list[int] | None = None
    max_rows: int | None = None
    max_cols: int | None = None
    text_format: str = "markdown"
    seed: int | None = None
    size: int = 500

    def validate(self) -> None:
        assert self.difficulty is None or self.difficulty in DIFFICULTIES, f"difficulty is one of {DIFFICULTIES}"
        assert self.text_format in FORMATS, f"text_format is one of {', '.join(FORMATS)}"
        assert self.size > 0, "size must be positive"
        self.settings(0)  # a setting no puzzle can meet raises crossmath's SettingsError, naming it

    def settings(self, seed: int) -> BuildSettings:
        """The crossmath build settings of these puzzles."""
        mix = PUBLISHED_TEST_MIX
        if self.difficulty is not None:
            easy, medium, hard = (int(d == self.difficulty) for d in DIFFICULTIES)
            mix = (easy, medium, hard)
        puzzle = {name: getattr(self, name) for name in GENERATOR_SETTINGS if getattr(self, name) is not None}
        return BuildSettings(train_mix=mix, puzzle=puzzle, seed=seed, styles=(STYLES["original"],))


class CrossmathDataset(ProceduralDataset):
    """Verified cross-math puzzles as text questions with exact answers."""

    def __init__(self, config: CrossmathConfig) -> None:
        super().__init__(config=config, seed=config.seed, size=config.size)  # no seed: reasoning-gym draws one
        settings = config.settings(self.seed)
        self.rows = StreamRows(settings, "original", keys_of_test_split(settings))

    def __getitem__(self, idx: int) -> dict[str, Any]:
        puzzle = self.rows.puzzle(idx)
        text_format = self.config.text_format
        question = prompt_text(DEFAULT_TEMPLATES["text"], "text", text_format, FORMATS[text_format][0](puzzle))
        steps = puzzle.steps
        return {"question": question, "answer": puzzle.answer, "metadata": {
            "source_dataset": NAME, "source_index": idx, "id": item_id("train", idx), "seed": self.seed,
            "puzzle": FORMATS["markdown"][0](puzzle), "blank_steps": [steps[cell] for cell in puzzle.blanks],
            "difficulty": {"preset": puzzle.info.difficulty, "equations": len(puzzle.equations),
                           "blanks": len(puzzle.blanks), "depth": max(steps.values(), default=0)}}}

    def score_answer(self, answer: str | None, entry: dict[str, Any]) -> float:
        """The micro score: the share of blanks right by position (an ``<answer>`` block or a bare line of numbers)."""
        return micro_score(answer, entry["answer"]) if isinstance(answer, str) else 0.0


if NAME not in DATASETS:  # importing twice (or reloading) registers once
    register_dataset(NAME, CrossmathDataset, CrossmathConfig)
