"""An independent solution counter for tests: it only evaluates equations forwards, never inverts them.

It shares no code with crossmath's solver: candidates for a cell are every value of the number range for which the
equations around it hold when computed left to right, so an inversion bug in the solver cannot hide here.
"""

from __future__ import annotations

import numpy as np

SIGNS = {"+": np.add, "-": np.subtract, "\u00d7": np.multiply}


def _holds(op: str, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise truth of ``a op b = c`` for integer arrays (division must be exact)."""
    if op == "\u00f7":
        b_safe = np.where(b == 0, 1, b)
        return (b != 0) & (a % b_safe == 0) & (a // b_safe == c)
    return SIGNS[op](a, b) == c


def count_solutions(grid: list[list[str]], lo: int, hi: int, limit: int = 2) -> int:
    """How many ways (up to ``limit``) the ``?`` cells of a text grid can be filled from ``[lo, hi]``."""
    cells = {(r, c): t for r, row in enumerate(grid) for c, t in enumerate(row) if t}
    equations = []
    for r, c in cells:
        for dr, dc in ((0, 1), (1, 0)):
            if (r - dr, c - dc) in cells or (r + dr, c + dc) not in cells:
                continue
            run = [(r + k * dr, c + k * dc) for k in range(5)]
            assert all(x in cells for x in run) and (r + 5 * dr, c + 5 * dc) not in cells, "bad layout"
            assert cells[run[3]] == "=", "bad layout"
            equations.append((cells[run[1]], run[0], run[2], run[4]))
    known = {x: int(t) for x, t in cells.items() if t.lstrip("-").isdigit()}
    blanks = [x for x, t in cells.items() if t == "?"]
    domain = np.arange(lo, hi + 1)

    def consistent(assign: dict) -> bool:
        for op, a, b, c in equations:
            if (a in assign and b in assign and c in assign
                    and not _holds(op, np.array(assign[a]), np.array(assign[b]), np.array(assign[c]))):
                return False
        return True

    def count(assign: dict) -> int:
        free = [x for x in blanks if x not in assign]
        if not free:
            return 1
        # the free cell with the most equations whose other two cells are assigned
        def pinned(x):
            return sum(1 for op, a, b, c in equations if x in (a, b, c)
                       and all(y in assign for y in (a, b, c) if y != x))
        cell = max(free, key=pinned)
        mask = np.ones(domain.shape, dtype=bool)
        for op, a, b, c in equations:
            if cell in (a, b, c) and all(y in assign for y in (a, b, c) if y != cell):
                args = [domain if y == cell else np.full(domain.shape, assign[y]) for y in (a, b, c)]
                mask &= _holds(op, *args)
        total = 0
        for value in domain[mask]:
            total += count({**assign, cell: int(value)})
            if total >= limit:
                return total
        return total

    if not consistent(known):
        return 0
    return count(dict(known))
