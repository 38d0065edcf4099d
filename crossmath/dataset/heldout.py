"""The leak keys of a held-out set: the puzzles of a crossmath build that a stream must never yield.

A build's manifest (``crossmath_build.json``) records the leak key of every puzzle it holds, chunk by chunk, so a
held-out set is read without loading or regenerating any of its puzzles, from a local folder or a Hub dataset.
"""

from __future__ import annotations

from pathlib import Path

from crossmath.dataset.files import read_json
from crossmath.errors import CrossmathError
from crossmath.schema import MANIFEST


class HeldOutError(CrossmathError):
    """A held-out set that is not a crossmath build."""


def manifest_of(source: str | Path) -> dict:
    """The manifest of a crossmath-build folder, or of a Hub dataset (downloaded, or read from the local cache)."""
    path = Path(source)
    if path.exists():
        if not (path / MANIFEST).is_file():
            raise HeldOutError(f"--exclude {source}: not a crossmath build (no {MANIFEST} in it)")
        return read_json(path / MANIFEST)
    from huggingface_hub import hf_hub_download

    try:
        local = hf_hub_download(str(source), MANIFEST, repo_type="dataset")
    except Exception as exc:  # the Hub client raises many types: a bad id, no such repo, no file, no network
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HeldOutError(f"--exclude {source}: not a crossmath build folder, and no Hub dataset with a "
                           f"{MANIFEST} ({first})") from None
    return read_json(Path(local))


def held_out_keys(source: str | Path | None) -> frozenset[str]:
    """The leak keys of the build's test split (of every split, when it has no test split); none for None."""
    if source is None:
        return frozenset()
    manifest = manifest_of(source)
    chunks = manifest.get("chunks")
    if not isinstance(chunks, list) or not all(isinstance(c, dict) and "keys" in c for c in chunks):
        raise HeldOutError(f"--exclude {source}: its {MANIFEST} lists no puzzles; is it a crossmath build?")
    held = [chunk for chunk in chunks if chunk.get("split") == "test"] or chunks
    return frozenset(key for chunk in held for key in chunk["keys"])
