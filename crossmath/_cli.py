"""What every crossmath command shares: expected failures become one error line, never a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from crossmath.errors import CrossmathError


def comma_list(text: str) -> list[str]:
    """An option value such as ``original,altstyle`` as its non-empty parts."""
    return [part.strip() for part in text.split(",") if part.strip()]


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse arguments and run the chosen command, turning bad input (:class:`CrossmathError`) and ``OSError`` into
    one error line (exit 2); any other exception is a bug and keeps its traceback."""
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (CrossmathError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
