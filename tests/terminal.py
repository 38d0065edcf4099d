"""Child processes that behave as they would under a person's terminal."""

from __future__ import annotations

import signal


def as_in_a_terminal() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: SIGINT back to its default action.

    A test runner started in the background by a non-interactive shell (as CI may start it) ignores SIGINT, every
    child inherits that, and Python then never raises KeyboardInterrupt: the child runs to its end and the test
    sees exit status 1 instead of 130. A person's Ctrl-C reaches a process whose SIGINT is at its default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
