"""What every crossmath command shares: expected failures become one error line, never a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence


def comma_list(text: str) -> list[str]:
    """An option value such as ``original,altstyle`` as its non-empty parts."""
    return [part.strip() for part in text.split(",") if part.strip()]


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
            errors: tuple[type[Exception], ...] = (ValueError, OSError)) -> int:
    """Parse arguments and run the chosen command, turning expected failures into one error line (exit 2)."""
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except errors as exc:
        message = str(exc) or type(exc).__name__
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
