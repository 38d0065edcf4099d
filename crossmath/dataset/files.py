"""Writing files so that a reader never sees half of one: write beside, then rename into place."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from crossmath.errors import CrossmathError


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    """The JSON in a file; a file that is not JSON is named in a CrossmathError."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not UTF-8, or not JSON
        raise CrossmathError(f"{path} is damaged: it does not hold JSON ({exc})") from None
