"""A digest of a fixed series of generated puzzles; stdlib only, so any Python can compute it."""

import hashlib
import json

from crossmath.puzzles.generator import PRESETS, generate


def series_digest(count: int = 12, profile: str = "published") -> str:
    blob = json.dumps([generate(d, seed=2026, index=i, profile=profile).to_dict()
                       for d in sorted(PRESETS) for i in range(count)])
    return hashlib.sha256(blob.encode()).hexdigest()


if __name__ == "__main__":
    print(series_digest())
