"""The root of every error crossmath raises for bad input.

Command-line tools turn a :class:`CrossmathError` (or an ``OSError``) into one error line; anything else is a bug
and keeps its traceback. It subclasses ``ValueError`` so code written against the earlier ``ValueError`` raises
keeps working.
"""

from __future__ import annotations


class CrossmathError(ValueError):
    """Bad input or settings: the message says what is wrong and, where it can, what to do."""


class SettingsError(CrossmathError):
    """Settings (options, presets, configuration values) that cannot be used as given."""
