"""The generator: layout and values grown together, then blanks chosen so that the rounds solve every one.

1. **Layout and values.** Equations are added one at a time, each through a number cell that so far belongs to
   only one equation, perpendicular to it, at a place where it neither overlaps nor touches a collinear equation
   and keeps the grid within the size limit. Its values are drawn at once, consistent with every cell it shares
   (so closing a loop of equations is allowed when some operator fits). Trivial filler (``×1``, ``÷1``) and
   repeated equations are never drawn. Among a few feasible places, a profile takes the most compact (compact
   profile: dense grids), the least compact (published profile: sparse grids) or simply the first one drawn.
2. **Blanks, by construction.** Blanks are chosen in reverse solving order: a cell may be blanked only while it
   lies in an equation with no blank yet. Read backwards, that sequence solves one blank per equation, so every
   chosen set is solved completely by the rounds and the solution is unique. Preferring cells that cross an
   equation which already has a blank builds longer chains, hence deeper steps; avoiding them keeps blanks at
   step 1.
3. **Verification.** The finished puzzle goes through :func:`crossmath.puzzles.solver.solve`, which re-solves it
   from the shown numbers and proves uniqueness by search; the puzzle is returned only if that agrees.

Every draw comes from one ``random.Random`` seeded from ``sha256(difficulty, seed, index)`` and only its
``random()`` method is used, whose sequence Python guarantees across versions; nothing iterates a set or hash
order. So ``generate(..., seed=s, index=i)`` is the same puzzle on any machine, and item i of a dataset never
depends on the items before it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, TypeVar

from crossmath._version import __version__
from crossmath.errors import CrossmathError
from crossmath.puzzles.arith import DIVIDE, OPERATORS, PLUS, TIMES, operators_from_ascii, operators_to_ascii
from crossmath.puzzles.model import ACROSS, DOWN, MAX_DIGITS, MAX_SIDE, MIN_GAP, Cell, Equation, Puzzle, PuzzleInfo
from crossmath.puzzles.solver import solve

T = TypeVar("T")

GENERATOR_VERSION = "3"
"""Bumped whenever the puzzles drawn for a given seed change."""

LAYOUT_ATTEMPTS = 400
BLANKING_ATTEMPTS = 12
PLACEMENT_TRIES = 40
CANDIDATE_PLACEMENTS = 3

DEFAULT_MAX_NUMBER = (50, 250)
"""Without a ``number_range``, each compact puzzle draws from ``[1, hi]`` with hi uniform in this interval."""


class GenerationError(CrossmathError):
    """Settings no puzzle can satisfy, or settings for which none was found within the attempt budget."""


@dataclass(frozen=True)
class Preset:
    """A difficulty level of a profile: how many equations, how many blanks, how deep the steps go, and how the
    grid and its numbers are drawn."""

    equations: tuple[int, int]
    blank_ratio: tuple[float, float] | None
    """Blanks per equation, drawn uniformly in this interval; None means exactly one blank per equation."""
    min_blanks_per_equation: int
    max_blanks_per_equation: int
    depth: tuple[int, int]
    """Allowed deepest step level."""
    chain_bias: float
    """How strongly blanking prefers to extend chains of dependent blanks (deeper steps); below 0, how strongly it
    avoids them (more blanks at step 1)."""
    chain_starts: tuple[float, ...] = ()
    """Weights of k = 0, 1, 2, ...: the first k blanks chosen always extend a chain where they can (one deep
    chain per puzzle), the rest follow ``chain_bias``. Empty: k = 0."""
    equation_bins: tuple[tuple[int, int, float], ...] = ()
    """(min, max, weight) of each bin of equation counts: a puzzle draws its bin first, then a count in it, and
    keeps the bin through every retry, so failed layouts do not skew the mix. Empty: uniform over ``equations``."""
    operator_weights: tuple[float, float, float, float] | None = None
    """Weights of + - × ÷ when drawing the order in which an equation tries operators; None: uniform."""
    max_number: tuple[int, int] = DEFAULT_MAX_NUMBER
    """Without a ``number_range``, numbers lie in ``[1, hi]`` with hi uniform in this interval."""
    compact_share: float = 0.0
    """Share of placements that take the most compact of a few feasible ones (most crossings, smallest grid)."""
    spread_share: float = 0.0
    """Share of placements that take the least compact of them; the rest take the first one that fits."""


_COMPACT = {
    # Every equation at most one blank, all step 1, about 0.67 blanks per equation.
    "easy": Preset(equations=(5, 15), blank_ratio=(0.57, 0.82), min_blanks_per_equation=0,
                   max_blanks_per_equation=1, depth=(1, 1), chain_bias=0.0, compact_share=0.5),
    # One or two blanks per equation, deepest step 2 to 5, about 0.82 blanks per equation.
    "medium": Preset(equations=(5, 15), blank_ratio=(0.7, 0.95), min_blanks_per_equation=1,
                     max_blanks_per_equation=2, depth=(2, 5), chain_bias=0.6, compact_share=0.5),
    # As many blanks as equations, deepest step 2 to 7.
    "hard": Preset(equations=(5, 15), blank_ratio=None, min_blanks_per_equation=1,
                   max_blanks_per_equation=3, depth=(2, 7), chain_bias=0.7, compact_share=0.5),
}

_PUBLISHED = {
    # Tuned against the published test set (crossmath.puzzles.profile.PUBLISHED): `crossmath profile` measures it.
    "easy": replace(_COMPACT["easy"], equation_bins=((5, 7, 0.26), (8, 10, 0.19), (11, 13, 0.33), (14, 15, 0.22)),
                    operator_weights=(1.2, 1.2, 1.1, 0.7), max_number=(100, 250), compact_share=0.0,
                    spread_share=0.25),
    # Most blanks avoid chains (step 1); one chain of 2-4 blanks drawn first makes the deeper steps.
    "medium": replace(_COMPACT["medium"], chain_bias=-0.9, chain_starts=(0.0, 0.0, 0.3, 0.5, 0.2),
                      equation_bins=((5, 7, 0.32), (8, 10, 0.27), (11, 13, 0.24), (14, 15, 0.18)),
                      operator_weights=(1.4, 1.0, 0.95, 0.6), max_number=(35, 190), compact_share=0.0,
                      spread_share=0.25),
    "hard": replace(_COMPACT["hard"], chain_bias=0.5,
                    equation_bins=((5, 7, 0.23), (8, 10, 0.27), (11, 13, 0.24), (14, 15, 0.27)),
                    operator_weights=(1.15, 1.2, 0.95, 0.65), max_number=(30, 180), compact_share=0.0,
                    spread_share=0.25),
}

PROFILES: dict[str, dict[str, Preset]] = {"published": _PUBLISHED, "compact": _COMPACT}
"""Presets per profile. ``published`` follows the published test set per difficulty (grid size and sparsity,
equation counts, step levels, operators, number magnitudes: see :mod:`crossmath.puzzles.profile`); ``compact``
is the denser, smaller-grid generator of crossmath before that profile (generator version 2), kept as it was."""

DEFAULT_PROFILE = "published"
PRESETS: dict[str, Preset] = PROFILES[DEFAULT_PROFILE]
"""The presets of the default profile, by difficulty."""


def equation_capacity(max_rows: int, max_cols: int) -> int:
    """How many equations fit at most in a grid of this size (collinear ones need a gap)."""
    number_rows, number_cols = (max_rows + 1) // 2, (max_cols + 1) // 2
    return number_rows * (number_cols // 3) + number_cols * (number_rows // 3)


class _Draw:
    """Uniform draws built on ``random.random()`` alone, whose sequence is stable across Python versions."""

    def __init__(self, *key_parts: object) -> None:
        key = ":".join(["crossmath", *(str(part) for part in key_parts)])
        self._random = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")).random

    def below(self, n: int) -> int:
        return int(self._random() * n)

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self._random() * (hi - lo + 1))

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self._random()

    def chance(self, p: float) -> bool:
        return self._random() < p

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self._random() * len(items))]

    def weighted(self, weights: Sequence[float]) -> int:
        """An index drawn with probability proportional to its weight."""
        target = self._random() * sum(weights)
        for index, weight in enumerate(weights):
            target -= weight
            if target < 0:
                return index
        return len(weights) - 1

    def weighted_order(self, items: Sequence, weights: Sequence[float]) -> list:
        """The items in a random order where each next item is drawn with probability proportional to its weight."""
        items, weights, out = list(items), list(weights), []
        while len(items) > 1:
            index = self.weighted(weights)
            out.append(items.pop(index))
            weights.pop(index)
        return out + items

    def shuffled(self, items: Sequence) -> list:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = int(self._random() * (i + 1))
            out[i], out[j] = out[j], out[i]
        return out


@dataclass(frozen=True)
class _Settings:
    difficulty: str
    preset: Preset
    equation_bins: tuple[tuple[int, int, float], ...]
    """The preset's bins cut to the allowed equation counts, or one bin of them all when the caller sets them."""
    max_rows: int
    max_cols: int
    operators: tuple[str, ...]
    number_range: tuple[int, int] | None
    blanks: int | None
    depth: tuple[int, int]


def _as_span(value: int | tuple[int, int] | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise GenerationError(f"{name} must be a number or a (min, max) pair, not {value!r}") from None
    if lo > hi:
        raise GenerationError(f"{name}: minimum {lo} is above maximum {hi}")
    return lo, hi


def _settings(difficulty: str, profile: str, equations: int | tuple[int, int] | None, max_rows: int, max_cols: int,
              operators: str, number_range: tuple[int, int] | None, blanks: int | None,
              depth: int | tuple[int, int] | None) -> _Settings:
    if profile not in PROFILES:
        raise GenerationError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if difficulty not in PROFILES[profile]:
        raise GenerationError(f"unknown difficulty {difficulty!r}; choose one of {', '.join(PRESETS)}")
    preset = PROFILES[profile][difficulty]
    if max_rows < 1 or max_cols < 1 or max(max_rows, max_cols) < 5:
        raise GenerationError(f"a {max_rows}x{max_cols} grid cannot hold an equation (5 cells in a line)")
    if max(max_rows, max_cols) > MAX_SIDE:
        raise GenerationError(f"a {max_rows}x{max_cols} grid is beyond the limit of {MAX_SIDE} cells per side")
    n_lo, n_hi = _as_span(preset.equations if equations is None else equations, "equations")
    capacity = equation_capacity(max_rows, max_cols)
    if n_lo < 1:
        raise GenerationError("a puzzle needs at least one equation")
    if n_lo > capacity:
        raise GenerationError(f"{n_lo} equations cannot fit in a {max_rows}x{max_cols} grid (at most {capacity})")
    n_hi = min(n_hi, capacity)
    try:
        ops = operators_from_ascii(operators)
    except ValueError as exc:
        raise GenerationError(str(exc)) from None
    if number_range is not None:
        lo, hi = _as_span(number_range, "number_range")
        if lo < 1:
            raise GenerationError("numbers start at 1: zeros and negatives are not generated")
        if hi < lo + 3:
            raise GenerationError(f"number range [{lo}, {hi}] is too narrow to draw equations from")
        if hi >= 10**MAX_DIGITS:  # what the verifier reads back; also bounds the search for divisors
            raise GenerationError(f"number range [{lo}, {hi}]: numbers have at most {MAX_DIGITS} digits "
                                  f"(up to {10**MAX_DIGITS - 1})")
        number_range = (lo, hi)
    depth_span = _as_span(preset.depth if depth is None else depth, "depth")
    if depth_span[0] < 1:
        raise GenerationError("the deepest step is at least 1")
    if difficulty == "easy" and depth_span != (1, 1):
        raise GenerationError("easy puzzles are solved in one step: depth must be 1")
    if difficulty == "hard":
        if blanks is not None:
            raise GenerationError("hard puzzles have one blank per equation; set equations instead of blanks")
        if depth_span[0] > n_hi:
            raise GenerationError(
                f"hard puzzles with at most {n_hi} equations (so {n_hi} blanks) cannot reach step {depth_span[0]}")
    if blanks is not None:
        if blanks < 1:
            raise GenerationError("a puzzle needs at least one blank")
        if blanks > n_hi:
            raise GenerationError(f"{blanks} blanks need at least {blanks} equations to stay solvable; "
                                  f"at most {n_hi} are allowed")
        if depth_span[0] > blanks:
            raise GenerationError(f"{blanks} blanks cannot reach step {depth_span[0]}")
        n_lo = max(n_lo, blanks)
    if difficulty != "easy" and depth_span[0] >= 2 and n_hi < 2:
        raise GenerationError(f"{difficulty} puzzles need steps of 2 or more, which takes at least 2 equations")
    if depth_span[0] > n_hi:  # each round uses up at least one equation, so n equations reach step n at most
        raise GenerationError(f"depth {depth_span[0]} is impossible: a puzzle of at most {n_hi} equations reaches "
                              f"step {n_hi} at most (each step solves at least one equation)")
    bins = tuple((max(lo, n_lo), min(hi, n_hi), weight) for lo, hi, weight in preset.equation_bins
                 if equations is None and max(lo, n_lo) <= min(hi, n_hi))
    return _Settings(difficulty, preset, bins or ((n_lo, n_hi, 1.0),), max_rows, max_cols,
                     ops, number_range, blanks, depth_span)


_checked_settings = lru_cache(maxsize=256, typed=True)(_settings)
""":func:`_settings` once per distinct set of arguments: a dataset or a stream generates every puzzle with the same
few, and checking them again for each puzzle cost as much as seeding its draw."""


def generate(
    difficulty: str = "medium",
    *,
    seed: int = 0,
    index: int = 0,
    equations: int | tuple[int, int] | None = None,
    max_rows: int = 17,
    max_cols: int = 21,
    operators: str = "+-*/",
    number_range: tuple[int, int] | None = None,
    blanks: int | None = None,
    depth: int | tuple[int, int] | None = None,
    profile: str = DEFAULT_PROFILE,
) -> Puzzle:
    """Generate one verified puzzle; the same arguments give the same puzzle on any machine.

    ``difficulty`` picks a preset (``easy``, ``medium``, ``hard``) of ``profile`` (``published``: like the
    published test set; ``compact``: denser, smaller grids); ``equations`` (a number or a range), ``blanks`` and
    ``depth`` (deepest step, a number or a range) override it. ``index`` selects item i of the series drawn from
    ``seed``: item 0 by default, as ``crossmath generate --seed`` prints first. Raises :class:`GenerationError`
    for impossible settings, quickly.
    """
    arguments = (difficulty, profile, equations, max_rows, max_cols, operators, number_range, blanks, depth)
    try:
        hash(arguments)
    except TypeError:  # an unhashable argument, such as a list read from JSON settings: checked every time
        settings = _settings(*arguments)
    else:
        settings = _checked_settings(*arguments)
    draw = _Draw(difficulty, seed, index)
    bins = settings.equation_bins
    n_lo, n_hi, _ = bins[draw.weighted([weight for _, _, weight in bins]) if len(bins) > 1 else 0]
    for _ in range(LAYOUT_ATTEMPTS):
        lo, hi = settings.number_range or (1, draw.between(*settings.preset.max_number))
        n = draw.between(n_lo, n_hi)
        grown = _grow(draw, n, settings, lo, hi)
        if grown is None:
            continue
        blanks_found = _blank(draw, grown, settings)
        if blanks_found is None:
            continue
        chosen, levels = blanks_found
        info = PuzzleInfo(difficulty, (lo, hi), operators_to_ascii(settings.operators), seed, index,
                          f"crossmath {__version__}/{GENERATOR_VERSION} {profile}")
        return _verified(Puzzle.make(grown.equations, grown.values, chosen, info), grown, levels)
    raise GenerationError(f"no {difficulty} puzzle found in {LAYOUT_ATTEMPTS} attempts with these settings; "
                          "loosen the grid size, number range, operators or blank/depth targets")


def check_settings(difficulty: str = "medium", profile: str = DEFAULT_PROFILE, **settings: Any) -> None:
    """Raise :class:`GenerationError` if :func:`generate` would refuse these settings (without generating)."""
    known = {"equations", "max_rows", "max_cols", "operators", "number_range", "blanks", "depth"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise GenerationError(f"unknown puzzle settings: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    merged = {"equations": None, "max_rows": 17, "max_cols": 21, "operators": "+-*/", "number_range": None,
              "blanks": None, "depth": None, **settings}
    _settings(difficulty, profile, **merged)


REBLANK_ATTEMPTS = 200
REBLANK_RATIO = (0.6, 1.0)
"""Blanks per equation drawn for a depth level (a blanks level sets the count itself)."""


def reblank(puzzle: Puzzle, *, depth: int | None = None, blanks: int | None = None, seed: int = 0,
            index: int | None = None) -> Puzzle | None:
    """The same solved grid with a new blank set whose deepest step is ``depth`` and/or whose size is ``blanks``.

    Layout and every number stay; only which cells are blank changes, chosen in reverse solving order as in
    :func:`generate` (so the result is solved by the rounds and unique). Deterministic from the grid's draw
    (``seed``, ``index``) and the level. None when no blank set within the attempt budget reaches the level.
    """
    values = {cell: value for cell, value in puzzle.numbers if value is not None}
    if len(values) != len(puzzle.numbers):
        raise GenerationError("reblank needs a solved puzzle (every number known)")
    through: dict[Cell, list[int]] = {}
    for number, eq in enumerate(puzzle.equations):
        for cell in eq.cells:
            through.setdefault(cell, []).append(number)
    grown = _Grown(list(puzzle.equations), values, through)
    n = len(puzzle.equations)
    draw = _Draw("reblank", puzzle.info.difficulty, seed, index, depth, blanks)
    for _ in range(REBLANK_ATTEMPTS):
        target = blanks if blanks is not None else max(1, round(n * draw.uniform(*REBLANK_RATIO)))
        if target > n:
            return None
        chain_bias = 0.0 if depth == 1 else 0.7
        chosen = _choose_blanks(draw, grown, target, 1 if depth == 1 else 3, chain_bias, target == n, 0)
        if chosen is None:
            continue
        levels = _levels(grown, chosen)
        if depth is None or max(levels.values()) == depth:
            return _verified(Puzzle.make(grown.equations, values, chosen, puzzle.info), grown, levels)
    return None


def _verified(puzzle: Puzzle, grown: _Grown, levels: dict[Cell, int]) -> Puzzle:
    """The finished puzzle carrying its analysis: re-solved from its shown numbers, which must agree with what was
    built."""
    analysis = solve(puzzle)
    top, left = min(r for r, _ in grown.values), min(c for _, c in grown.values)
    expected_values = {(r - top, c - left): grown.values[(r, c)] for r, c in levels}
    expected_steps = {(r - top, c - left): level for (r, c), level in levels.items()}
    if not (analysis.unique and analysis.values == expected_values and analysis.steps == expected_steps):
        raise AssertionError(f"generated puzzle failed verification: {puzzle.to_dict()}")  # pragma: no cover
    return puzzle.with_analysis(analysis)


# -- layout and values --------------------------------------------------------------------------------------------

@dataclass
class _Grown:
    equations: list[Equation]
    values: dict[Cell, int]
    cell_equations: dict[Cell, list[int]]
    """Each number cell (in the order cells appeared) and the equations through it."""


def _grow(draw: _Draw, n: int, settings: _Settings, lo: int, hi: int) -> _Grown | None:
    equations: list[Equation] = []
    values: dict[Cell, int] = {}
    cell_equations: dict[Cell, list[int]] = {}
    line_starts: dict[tuple[str, int], list[int]] = {}
    seen: set[tuple] = set()
    bounds = [0, 0, 0, 0]  # min row, max row, min col, max col of number cells

    def fits(direction: str, row: int, col: int) -> tuple | None:
        """The new equation's cells and the grid bounds after it, if the layout rules allow it there."""
        line, start = ((ACROSS, row), col) if direction == ACROSS else ((DOWN, col), row)
        if any(-MIN_GAP < s - start < MIN_GAP for s in line_starts.get(line, ())):
            return None
        if direction == ACROSS:
            cells = ((row, col), (row, col + 2), (row, col + 4))
            bottom_row, right_col = row, col + 4
        else:
            cells = ((row, col), (row + 2, col), (row + 4, col))
            bottom_row, right_col = row + 4, col
        top, bottom, left, right = bounds
        top, left = (row if row < top else top), (col if col < left else left)
        bottom, right = (bottom_row if bottom_row > bottom else bottom), (right_col if right_col > right else right)
        if bottom - top >= settings.max_rows or right - left >= settings.max_cols:
            return None
        return direction, line, start, cells, (top, bottom, left, right)

    def place(direction: str, line: tuple, start: int, cells: tuple, new_bounds: tuple) -> bool:
        a, b, c = map(values.get, cells)
        filled = _fill(draw, operator_order(), lo, hi, a, b, c, seen)
        if filled is None:
            return False
        op, numbers = filled
        seen.add(_equation_key(op, *numbers))
        index = len(equations)
        row, col = cells[0]
        equations.append(Equation(direction, row, col, op))
        line_starts.setdefault(line, []).append(start)
        bounds[:] = new_bounds
        for cell, number in zip(cells, numbers):
            values[cell] = number
            cell_equations.setdefault(cell, []).append(index)
        return True

    weights = settings.preset.operator_weights
    op_weights = None if weights is None else [weights[OPERATORS.index(op)] for op in settings.operators]

    def operator_order() -> list[str]:
        if op_weights is None:
            return draw.shuffled(settings.operators)
        return draw.weighted_order(settings.operators, op_weights)

    def compactness(candidate: tuple) -> tuple[int, int]:
        """Prefer placements that cross more equations, then those that grow the grid least."""
        cells, (top, bottom, left, right) = candidate[3], candidate[4]
        crossings = sum(1 for cell in cells if cell in values)
        return -crossings, (bottom - top + 1) * (right - left + 1)

    compact_share, spread_share = settings.preset.compact_share, settings.preset.spread_share
    first = ACROSS if draw.chance(0.5) else DOWN
    if (first == ACROSS and settings.max_cols < 5) or (first == DOWN and settings.max_rows < 5):
        first = DOWN if first == ACROSS else ACROSS
    bounds[:] = [0, 4, 0, 0] if first == DOWN else [0, 0, 0, 4]
    if not place(*fits(first, 0, 0)):  # type: ignore[misc]
        return None
    while len(equations) < n:
        open_cells = [cell for cell, through in cell_equations.items() if len(through) == 1]
        if not open_cells:
            return None
        # The most compact or the least compact of a few feasible placements wins, or the first that fits.
        choice = draw.uniform(0.0, 1.0)
        wanted = CANDIDATE_PLACEMENTS if choice < compact_share + spread_share else 1
        spread = choice >= compact_share
        candidates: list[tuple] = []
        placed = False
        for _ in range(PLACEMENT_TRIES):
            row, col = draw.pick(open_cells)
            direction = DOWN if equations[cell_equations[(row, col)][0]].direction == ACROSS else ACROSS
            offset = 2 * draw.below(3)
            found = fits(direction, row - offset, col) if direction == DOWN else fits(direction, row, col - offset)
            if found is not None:
                candidates.append(found)
                if len(candidates) == wanted:
                    candidates.sort(key=compactness, reverse=spread)
                    if any(place(*candidate) for candidate in candidates):
                        placed = True
                        break
                    candidates = []
        if not placed:
            return None
    return _Grown(equations, values, cell_equations)


def _equation_key(op: str, a: int, b: int, c: int) -> tuple:
    if op in (PLUS, TIMES) and b < a:
        a, b = b, a
    return op, a, b, c


def _fill(draw: _Draw, ops: list[str], lo: int, hi: int, a: int | None, b: int | None, c: int | None,
          seen: set) -> tuple[str, tuple[int, int, int]] | None:
    """Choose an operator (the first of ``ops`` that fits) and the unknown values of ``a op b = c`` so that it
    holds; None if nothing fits."""
    for op in ops:
        # A - B = C is B + C = A, and A ÷ B = C is B × C = A: two shapes cover the four operators.
        if op in (PLUS, TIMES):
            triple = _fill_shape(draw, op == TIMES, lo, hi, a, b, c)
        else:
            turned = _fill_shape(draw, op == DIVIDE, lo, hi, b, c, a)
            triple = None if turned is None else (turned[2], turned[0], turned[1])
        if triple is not None and _equation_key(op, *triple) not in seen:
            return op, triple
    return None


def _fill_shape(draw: _Draw, product: bool, lo: int, hi: int, x: int | None, y: int | None,
                z: int | None) -> tuple[int, int, int] | None:
    """Complete ``x + y = z`` (or ``x × y = z`` with both factors at least 2) within ``[lo, hi]``."""
    low = max(lo, 2) if product else lo
    if x is None and y is None:
        if z is None:
            if product:
                if low * low > hi:
                    return None
                x = draw.between(low, hi // low)
            else:
                if 2 * lo > hi:
                    return None
                z = draw.between(2 * lo, hi)
                x = draw.between(lo, z - lo)
        elif product:
            divisors = [d for d in range(low, int(z ** 0.5) + 1) if z % d == 0 and z // d >= low]
            if not divisors:
                return None
            x = draw.pick(divisors)
            if draw.chance(0.5):
                x = z // x
        else:
            if z - lo < lo:
                return None
            x = draw.between(lo, z - lo)
    if z is None and (x is None or y is None):
        known = x if y is None else y
        assert known is not None, "one of x and y is drawn above when both are unknown"
        if known < low:
            return None
        top = hi // known if product else hi - known
        if top < low:
            return None
        other = draw.between(low, top)
        x, y = (known, other) if y is None else (other, known)
    if z is None:
        assert x is not None and y is not None
        z = x * y if product else x + y
    elif x is None or y is None:
        known = x if y is None else y
        assert known is not None, "x and y are not both unknown once z is known"
        if product:
            if known < low or z % known:
                return None
            other = z // known
        else:
            other = z - known
        x, y = (known, other) if y is None else (other, known)
    elif (x * y if product else x + y) != z:
        return None
    if min(x, y) < low or z > hi or z < lo or max(x, y) > hi:
        return None
    return x, y, z


# -- blanks -------------------------------------------------------------------------------------------------------

def _blank(draw: _Draw, grown: _Grown, settings: _Settings) -> tuple[list[Cell], dict[Cell, int]] | None:
    preset = settings.preset
    n = len(grown.equations)
    if settings.blanks is not None:
        target = settings.blanks
    elif preset.blank_ratio is None:
        target = n
    else:
        target = max(1, round(n * draw.uniform(*preset.blank_ratio)))
    if target > n:
        return None
    exact = target == n  # every blank must use up exactly one equation without blanks
    for _ in range(BLANKING_ATTEMPTS):
        chained = draw.weighted(preset.chain_starts) if preset.chain_starts else 0
        chosen = _choose_blanks(draw, grown, target, preset.max_blanks_per_equation, preset.chain_bias, exact,
                                chained)
        if chosen is None:
            continue
        blank = set(chosen)
        if any(sum(cell in blank for cell in eq.cells) < preset.min_blanks_per_equation for eq in grown.equations):
            continue
        levels = _levels(grown, chosen)
        if settings.depth[0] <= max(levels.values()) <= settings.depth[1]:
            return chosen, levels
    return None


def _choose_blanks(draw: _Draw, grown: _Grown, target: int, max_per_equation: int, chain_bias: float,
                   exact: bool, chained: int) -> list[Cell] | None:
    """Blanks in reverse solving order: each lies in an equation that has no blank yet when it is chosen. The
    first ``chained`` choices extend a chain whenever one can be extended."""
    through = grown.cell_equations
    cells_of = [eq.cells for eq in grown.equations]
    count = [0] * len(cells_of)
    NOT_ALLOWED, ALLOWED, CHAINING = 0, 1, 2

    def status(cell: Cell) -> int:
        free = 0
        for e in through[cell]:
            if count[e] >= max_per_equation:
                return NOT_ALLOWED
            free += count[e] == 0
        if free == 0 or (exact and free != 1):
            return NOT_ALLOWED
        return CHAINING if free < len(through[cell]) else ALLOWED

    # No blank is chosen yet, so no equation is full and none has a blank: a cell is allowed unless ``exact`` and it
    # crosses another equation (what status() gives, without calling it for every cell of every attempt).
    state = {cell: ALLOWED if max_per_equation > 0 and not (exact and len(eqs) > 1) else NOT_ALLOWED
             for cell, eqs in through.items()}
    chosen: list[Cell] = []
    for picked in range(target):
        if chain_bias >= 0 or picked < chained:
            wanted, bias = CHAINING, 1.0 if picked < chained else chain_bias
        else:
            wanted, bias = ALLOWED, -chain_bias
        # One pass over the cells finds both the candidates and the preferred ones among them.
        candidates, preferred = [], []
        for other, s in state.items():
            if s:
                candidates.append(other)
                if s == wanted:
                    preferred.append(other)
        if not candidates:
            return None
        cell = draw.pick(preferred if preferred and draw.chance(bias) else candidates)
        chosen.append(cell)
        del state[cell]
        for e in through[cell]:
            count[e] += 1
        for e in through[cell]:
            for other in cells_of[e]:
                if other in state:
                    state[other] = status(other)
    return chosen


def _levels(grown: _Grown, chosen: list[Cell]) -> dict[Cell, int]:
    """Step level of each blank, by the rounds of DESIGN.md (every chosen set is solved completely)."""
    unknown = set(chosen)
    cells_of = [eq.cells for eq in grown.equations]
    missing = [sum(cell in unknown for cell in cells) for cells in cells_of]
    ready = [index for index, count in enumerate(missing) if count == 1]
    levels: dict[Cell, int] = {}
    level = 0
    while unknown:
        if not ready:  # pragma: no cover - impossible for sets built by _choose_blanks
            raise AssertionError("blanks not solvable by rounds")
        level += 1
        found = {cell for index in ready for cell in cells_of[index] if cell in unknown}
        unknown -= found
        touched = set()
        for cell in found:
            levels[cell] = level
            for index in grown.cell_equations[cell]:
                missing[index] -= 1
                touched.add(index)
        ready = [index for index in touched if missing[index] == 1]
    return levels
