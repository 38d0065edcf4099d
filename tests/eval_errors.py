"""What the crossmath-eval tests check of a command's failure."""

from __future__ import annotations

import pytest

from crossmath.eval import cli


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of a ``crossmath-eval`` command that must fail with exit status 2."""
    capsys.readouterr()
    assert cli.main(list(argv)) == 2
    error = capsys.readouterr().err.strip()  # progress bars of datasets may come first
    assert "Traceback" not in error and error.splitlines()[-1].startswith("crossmath-eval: error: "), error
    return error.splitlines()[-1]
