"""The four operators: their glyphs, forward evaluation and exact inversion.

Every equation is ``A op B = C``. Solving one unknown is exact integer arithmetic: a division that does not come
out even, or a result below the allowed minimum, means the equation has no valid value for that unknown.
"""

from __future__ import annotations

from crossmath.errors import SettingsError

PLUS, MINUS, TIMES, DIVIDE = "+", "-", "\u00d7", "\u00f7"
OPERATORS: tuple[str, ...] = (PLUS, MINUS, TIMES, DIVIDE)
"""Canonical operator glyphs, in the published order (``+ - × ÷``)."""

ASCII_OF = {PLUS: "+", MINUS: "-", TIMES: "*", DIVIDE: "/"}
"""The ASCII letter of each operator, as the published ``operators`` key writes it."""

GLYPH_VARIANTS = {
    "+": PLUS,
    "-": MINUS, "\u2212": MINUS, "\u2013": MINUS, "\u2014": MINUS,
    "\u00d7": TIMES, "*": TIMES, "x": TIMES, "X": TIMES, "\u2715": TIMES, "\u2716": TIMES, "\u22c5": TIMES,
    "\u00b7": TIMES,
    "\u00f7": DIVIDE, "/": DIVIDE, ":": DIVIDE, "\u2215": DIVIDE, "\u2797": DIVIDE,
}
"""Every spelling of an operator that readers accept, mapped to its canonical glyph."""


def canonical_operator(text: str) -> str | None:
    """The canonical glyph for an operator spelling, or None when ``text`` is not an operator."""
    return GLYPH_VARIANTS.get(text.strip())


def operators_from_ascii(spec: str) -> tuple[str, ...]:
    """Parse an operator set such as ``"+-*/"`` (any accepted spelling) into canonical glyphs, in canonical order."""
    chosen = set()
    for char in spec.replace(",", "").replace(" ", ""):
        glyph = GLYPH_VARIANTS.get(char)
        if glyph is None:
            raise SettingsError(f"unknown operator {char!r} in operator set {spec!r} (use + - * /)")
        chosen.add(glyph)
    if not chosen:
        raise SettingsError("the operator set is empty")
    return tuple(op for op in OPERATORS if op in chosen)


def operators_to_ascii(ops: tuple[str, ...] | str) -> str:
    """The published ASCII spelling of an operator set, e.g. ``"+-*/"``."""
    return "".join(ASCII_OF[op] for op in OPERATORS if op in ops)


def evaluate(op: str, a: int, b: int) -> int | None:
    """``a op b``, or None when the division is not exact (or divides by zero)."""
    if op == PLUS:
        return a + b
    if op == MINUS:
        return a - b
    if op == TIMES:
        return a * b
    if b == 0 or a % b:
        return None
    return a // b


def solve_unknown(op: str, position: int, a: int | None, b: int | None, c: int | None) -> int | None:
    """The value of the one unknown at ``position`` (0 = A, 1 = B, 2 = C) of ``A op B = C``.

    Returns None when no integer makes the equation true. Each operator is injective in each operand once the other
    operand and the result are fixed (for non-zero values), which is why a one-unknown equation has one answer.
    """
    if position == 2:
        assert a is not None and b is not None, "C is the unknown: A and B are known"
        return evaluate(op, a, b)
    known, result = (b if position == 0 else a), c
    assert known is not None and result is not None, "one unknown: the other operand and C are known"
    if op == PLUS:
        return result - known
    if op == MINUS:
        # A - B = C: A = C + B, B = A - C
        return result + known if position == 0 else known - result
    if op == TIMES:
        if known == 0 or result % known:
            return None
        return result // known
    # DIVIDE: A ÷ B = C: A = B × C (exact by construction), B = A ÷ C
    if position == 0:
        return known * result if known else None
    if result == 0 or known % result:
        return None
    value = known // result
    return value if value != 0 and known == value * result else None
