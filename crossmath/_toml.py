"""Reading TOML files (experiment files, evaluation plans): ``tomllib`` from Python 3.11, ``tomli`` on 3.10."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from crossmath.errors import SettingsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # a dependency on Python 3.10 only
    import tomli as tomllib


def read_toml(path: str | Path, what: str) -> tuple[dict[str, Any], str]:
    """A TOML file's table and its text; ``what`` names the file in errors (``experiment file``, ``plan``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"no such {what}: {path}") from None
    except IsADirectoryError:
        raise SettingsError(f"{what} {path} is a folder; give the TOML file itself") from None
    except UnicodeDecodeError:
        raise SettingsError(f"cannot read {what} {path}: it is not UTF-8 text (a TOML file)") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"cannot read {what} {path}: {exc}") from None
