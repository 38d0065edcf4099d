"""What every crossmath command shares: expected failures become one error line, never a traceback."""

from __future__ import annotations

import argparse
import functools
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from crossmath.errors import CrossmathError, SettingsError


def comma_list(text: str) -> list[str]:
    """An option value such as ``original,altstyle`` as its non-empty parts."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _whole_number(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of {minimum} or more, got {text!r}")
        return value

    parse.__name__ = f"whole number >= {minimum}"  # what argparse names the type in its own messages
    return parse


positive_int = _whole_number(1)
"""An option value that must be a whole number of 1 or more (a count, a size, a scale)."""
non_negative_int = _whole_number(0)
"""An option value that must be a whole number of 0 or more (an index, a size that may be empty)."""


def percent(text: str) -> float:
    """An option value that is a percentage, 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r}")
    return value


def check_ranges(rules: Sequence[tuple[str, bool, str]]) -> None:
    """Raise a SettingsError for the first ``(option, in range, range)`` rule broken: ``--limit must be at least 1``."""
    broken = next(((name, bound) for name, ok, bound in rules if not ok), None)
    if broken:
        raise SettingsError(f"{broken[0]} must be {broken[1]}")


def check_finite(values: Iterable[tuple[str, Any]]) -> None:
    """Raise a SettingsError for the first ``(option, value)`` whose value is a float that is nan or infinite: no
    range check (``nan >= 0`` is false, ``inf >= 0`` true) or library downstream is left to meet one."""
    for name, value in values:
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"{name} must be a finite number, not {value}")


def _options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Iterator[tuple[str, Any]]:
    """Every option of the command given (and of its subcommand), as ``(its first name, its value)``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                yield from _options(chosen, args)
        elif action.option_strings and hasattr(args, action.dest):
            yield action.option_strings[0], getattr(args, action.dest)


def option_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` whose :class:`CrossmathError` message reaches the user (argparse hides the text of a
    ValueError from a type function)."""
    @functools.wraps(parse)
    def parsed(text: str) -> Any:
        try:
            return parse(text)
        except CrossmathError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parsed


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block SIGTERM stops the program as Ctrl-C does (KeyboardInterrupt), so cleanup code runs: a build
    keeps its finished chunks, a half-written output file is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse arguments and run the chosen command, turning bad input (:class:`CrossmathError`) and ``OSError`` into
    one error line (exit 2); any other exception is a bug and keeps its traceback. A number option of nan or inf
    is refused before the command starts."""
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        check_finite(_options(parser, args))
        return run(args)
    except BrokenPipeError:  # the reader of our output went away (`... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CrossmathError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
