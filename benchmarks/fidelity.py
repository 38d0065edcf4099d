"""How closely our presets reproduce published images: mean absolute difference per channel, in grey levels.

Needs the published benchmark on disk (not shipped, and not downloadable from this project's machines): give a
JSONL file in the published layout and the style its images were drawn in. Each record's puzzle is rendered from
its markdown_table and compared with its blank image (``img_blank``, relative to the JSONL file). The bar is a
mean difference of at most 1.5 grey levels.

    python benchmarks/fidelity.py data/Original/testset_hr.jsonl --style original
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
from PIL import Image

from crossmath import render
from crossmath.puzzles.records import iter_records, puzzle_from_record

BAR = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", type=Path, help="published records file")
    parser.add_argument("--style", default="original", help="preset or style file the images were drawn in")
    args = parser.parse_args()
    differences, wrong_size = [], 0
    for _, record in iter_records(args.jsonl):
        published = Image.open(args.jsonl.parent / record["img_blank"]).convert("RGB")
        ours = render.render(puzzle_from_record(record, solve=False), args.style)
        if ours.size != published.size:
            wrong_size += 1
            continue
        diff = np.abs(np.asarray(ours, dtype=np.int16) - np.asarray(published, dtype=np.int16))
        differences.append(float(diff.mean()))
    if differences:
        print(f"{len(differences)} images compared: median {statistics.median(differences):.3f}, "
              f"max {max(differences):.3f} grey levels; {sum(d <= BAR for d in differences)} within {BAR}")
    print(f"{wrong_size} images of another size")


if __name__ == "__main__":
    main()
