"""What a build makes: split sizes, difficulty mixes, seed, styles, columns; and how items are laid out.

Everything that changes the dataset's content is in :class:`BuildSettings`; how many processes build it is not,
so any ``--num-proc`` and any sharding give the same rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from crossmath._version import __version__
from crossmath.dataset.conflict import check_conflict, conflict_configs
from crossmath.dataset.factors import Config, check_levels, kind, plan_configs
from crossmath.errors import CrossmathError, SettingsError
from crossmath.puzzles.generator import DEFAULT_PROFILE, GENERATOR_VERSION, PROFILES, check_settings
from crossmath.puzzles.text import FORMATS
from crossmath.render.draw import check_numbers_fit
from crossmath.render.styles import STYLES, Style

SPLITS = ("train", "test")
DIFFICULTIES = ("easy", "medium", "hard")
PUBLISHED_TEST_MIX = (90, 85, 75)
"""The published test set: 90 easy, 85 medium and 75 hard puzzles."""

CHUNK_SIZE = 100
"""Items per work unit and per Parquet file; fixed, so that the files do not depend on the number of processes."""

SPLIT_BASE = {"test": 0, "train": 1_000_000}
"""Generator index of each split's first item: the splits draw from disjoint parts of the seed's series, and a
split's puzzles do not change when the other split is resized."""

REDRAW_STRIDE = 10_000_000
"""A train puzzle that equals a test puzzle is redrawn at its index plus this, so the replacement is fixed too."""

MAX_TRAIN_SIZE = REDRAW_STRIDE - SPLIT_BASE["train"]
"""The largest train split a build writes: beyond it, train indices would meet the redraws of earlier items (an
endless :func:`crossmath.dataset.stream` goes on past it)."""

MAX_MIX_PERIOD = 1_000_000
"""The longest repeating pattern a difficulty mix may make (its weights' sum over their greatest common divisor)."""

OUTPUTS = ("hf", "crossmath-jsonl")

VERSION = f"{__version__} (generator {GENERATOR_VERSION})"
"""The crossmath and generator versions a build records as having made its data."""


@dataclass(frozen=True)
class BuildSettings:
    """Everything that determines a build's content (and so its fingerprint)."""

    train_size: int = 5000
    test_size: int = 250
    train_mix: tuple[int, int, int] = PUBLISHED_TEST_MIX
    """Relative weights of easy, medium, hard."""
    test_mix: tuple[int, int, int] = PUBLISHED_TEST_MIX
    test_profile: str = DEFAULT_PROFILE
    """Generation profile of the test split (``published``: puzzles like the published test set)."""
    train_profile: str = DEFAULT_PROFILE
    seed: int = 0
    styles: tuple[Style, ...] = tuple(STYLES.values())
    """One config each (default: the four published presets, as ``crossmath-build`` builds)."""
    text_formats: tuple[str, ...] = tuple(FORMATS)
    """Extra grid serializations as columns (the markdown table and its companions are always there)."""
    solved_images: bool = False
    outputs: tuple[str, ...] = ("hf",)
    version: str = VERSION
    """crossmath version and generator version that made the data."""
    puzzle: dict[str, Any] = field(default_factory=dict)
    """:func:`generate` settings (equations, max_rows, max_cols, operators, number_range, blanks, depth) for every
    puzzle; what is not given keeps the difficulty preset."""
    puzzle_by_difficulty: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The same settings for one difficulty, over ``puzzle``."""
    vary: dict[str, list[Any]] = field(default_factory=dict)
    """Factors and their levels (see :mod:`crossmath.dataset.factors`); each style becomes one config per level
    (or combination)."""
    one_at_a_time: bool = False
    """Vary each factor alone from the base instead of every combination."""
    experiment: str = ""
    """The experiment file the settings came from, verbatim (kept in the output and the card)."""
    conflict: bool = False
    """Add a test-only ``<style>-conflict`` config per style: image of A, text of its twin B
    (:mod:`crossmath.dataset.conflict`)."""

    def __post_init__(self) -> None:
        if self.train_size < 0 or self.test_size < 0 or self.train_size + self.test_size == 0:
            raise SettingsError("split sizes must be 0 or more, and not both 0")
        if not -(2**63) <= self.seed < 2**63:  # the seed column is int64
            raise SettingsError(f"seed must be a whole number from -2**63 to 2**63 - 1, not {self.seed}")
        if self.test_size >= SPLIT_BASE["train"]:
            raise SettingsError(f"the test split is limited to {SPLIT_BASE['train'] - 1} puzzles")
        if self.train_size > MAX_TRAIN_SIZE:
            raise SettingsError(f"the train split is limited to {MAX_TRAIN_SIZE} puzzles (got {self.train_size}); "
                                "for more, read crossmath.dataset.stream, which never ends")
        for mix in (self.train_mix, self.test_mix):
            if len(mix) != 3 or min(mix) < 0 or sum(mix) == 0:
                raise SettingsError("a difficulty mix is three weights (easy, medium, hard), 0 or more, not all 0")
            if sum(mix) // math.gcd(*mix) > MAX_MIX_PERIOD:
                raise SettingsError(f"difficulty mix {tuple(mix)}: its weights over their common divisor may sum to "
                                    f"at most {MAX_MIX_PERIOD}; give smaller weights in the same proportion")
        for profile in (self.test_profile, self.train_profile):
            if profile not in PROFILES:
                raise SettingsError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
        if not self.styles:
            raise SettingsError("a build needs at least one style")
        names = [style.name for style in self.styles]
        if len({name.lower() for name in names}) != len(names):
            raise SettingsError(f"style names must differ, ignoring case (they name the configs and folders): "
                                f"{', '.join(names)}")
        for name in ("puzzle", "puzzle_by_difficulty", "vary"):  # JSON-native, so a manifest reads back equal
            object.__setattr__(self, name, json.loads(json.dumps(getattr(self, name))))
        for name, levels in self.vary.items():
            check_levels(name, levels)
        self._check_puzzle_settings()
        unknown = sorted(set(self.text_formats) - set(FORMATS))
        if unknown:
            raise SettingsError(f"unknown text formats: {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
        if not self.outputs or set(self.outputs) - set(OUTPUTS):
            raise SettingsError(f"outputs are one or both of {', '.join(OUTPUTS)}")
        if self.conflict:
            check_conflict(self.test_size, self.vary, self.outputs)

    def _check_puzzle_settings(self) -> None:
        unknown = sorted(set(self.puzzle_by_difficulty) - set(DIFFICULTIES))
        if unknown:
            raise SettingsError(f"puzzle settings for unknown difficulties: {', '.join(unknown)}")
        used = [d for i, d in enumerate(DIFFICULTIES) if self.counts("test")[i] or self.counts("train")[i]]
        for config in self.configs:
            for difficulty in used:
                settings = self.generation(difficulty, config)
                span = settings.get("number_range") or max(PROFILES[self.test_profile][difficulty].max_number,
                                                           PROFILES[self.train_profile][difficulty].max_number)
                try:
                    check_settings(difficulty, **settings)
                    check_numbers_fit(config.style, max(span) if isinstance(span, list | tuple) else span)
                except CrossmathError as exc:
                    raise SettingsError(f"{difficulty} puzzles of config {config.name}: {exc}") from None

    @cached_property
    def configs(self) -> list[Config]:
        """The dataset's configs: one per style, or per style and level (or combination) of the varied factors."""
        plain = plan_configs(self.styles, self.vary, self.one_at_a_time)
        return plain + conflict_configs(plain) if self.conflict else plain

    def splits_of(self, config: Config) -> list[str]:
        """The splits a config holds: every split with puzzles, only test for a conflict config."""
        return [split for split in SPLITS if self.size(split) and (split == "test" or config.conflict_of is None)]

    @property
    def configs_differ(self) -> bool:
        """Whether the configs hold different puzzles (a depth, blanks or grid factor varies), not only images."""
        return any(kind(name) != "image" for name in self.vary)

    def generation(self, difficulty: str, config: Config) -> dict[str, Any]:
        """The :func:`generate` arguments of a puzzle of this difficulty in this config (beyond the preset)."""
        return {**self.puzzle, **self.puzzle_by_difficulty.get(difficulty, {}), **config.grid}

    def size(self, split: str) -> int:
        return self.train_size if split == "train" else self.test_size

    def profile(self, split: str) -> str:
        return self.train_profile if split == "train" else self.test_profile

    def counts(self, split: str) -> tuple[int, int, int]:
        """How many easy, medium and hard puzzles the split holds: for test the largest remainders of its mix, for
        train the first ``train_size`` items of its interleaved pattern."""
        total = self.size(split)
        if split == "train":
            return interleaved_counts(self.train_mix, total)
        mix = self.test_mix
        exact = [total * w / sum(mix) for w in mix]
        counts = [int(x) for x in exact]
        for i in sorted(range(3), key=lambda i: (counts[i] - exact[i], i))[: total - sum(counts)]:
            counts[i] += 1
        return counts[0], counts[1], counts[2]

    def difficulty(self, split: str, position: int) -> str:
        """Difficulty of item ``position`` of a split. Test lists its easy puzzles first, then medium, then hard
        (the published order); train interleaves them in a fixed pattern (:func:`mix_pattern`) that every prefix
        keeps the mix of, so a train split of any size, and an endless stream, agree item by item."""
        if split == "train":
            pattern = mix_pattern(self.train_mix)
            return DIFFICULTIES[pattern[position % len(pattern)]]
        easy, medium, _ = self.counts(split)
        return "easy" if position < easy else "medium" if position < easy + medium else "hard"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["styles"] = [style.to_dict() for style in self.styles]
        data["vary"] = [[name, levels] for name, levels in self.vary.items()]  # in order: it names the configs
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BuildSettings:
        """The settings :meth:`to_dict` wrote (as a build's manifest keeps them)."""
        values = dict(data)
        values["styles"] = tuple(Style(**style) for style in values["styles"])
        values["vary"] = dict(values.get("vary", []))
        for key in ("train_mix", "test_mix", "text_formats", "outputs"):
            values[key] = tuple(values[key])
        return cls(**values)

    def digest(self) -> str:
        """A short hash of the settings, to refuse resuming a build with different ones."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@lru_cache(maxsize=16)
def mix_pattern(mix: tuple[int, int, int]) -> bytes:
    """One period of the train split's difficulty order (0 easy, 1 medium, 2 hard): each next item takes the
    difficulty furthest behind its share of the mix (the first in easy, medium, hard order on a tie), so in every
    prefix each difficulty's count is within one of its exact share. The pattern repeats every ``sum / gcd`` items."""
    weights = [w // math.gcd(*mix) for w in mix]
    period, counts, order = sum(weights), [0, 0, 0], bytearray()
    for n in range(1, period + 1):
        chosen = max(range(3), key=lambda d: (n * weights[d] - counts[d] * period, -d))
        counts[chosen] += 1
        order.append(chosen)
    return bytes(order)


def interleaved_counts(mix: tuple[int, int, int], total: int) -> tuple[int, int, int]:
    """How many easy, medium and hard puzzles the first ``total`` items of the train pattern hold."""
    pattern = mix_pattern(mix)
    cycles, rest = divmod(total, len(pattern))
    easy, medium, hard = (cycles * pattern.count(d) + pattern[:rest].count(d) for d in range(3))
    return easy, medium, hard


@dataclass(frozen=True)
class Chunk:
    """One work unit: a run of consecutive items of one split."""

    split: str
    number: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"{self.split}-{self.number:05d}"


def plan_chunks(settings: BuildSettings, shard: tuple[int, int] = (1, 1)) -> list[Chunk]:
    """The chunks of a build, test first; with ``shard=(k, n)`` only every n-th chunk, starting at the k-th."""
    chunks = []
    for split in ("test", "train"):
        size = settings.size(split)
        for number, start in enumerate(range(0, size, CHUNK_SIZE)):
            chunks.append(Chunk(split, number, start, min(start + CHUNK_SIZE, size)))
    k, n = shard
    return [chunk for i, chunk in enumerate(chunks) if i % n == k - 1]
