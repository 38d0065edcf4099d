"""Rendered PNG images per second per style on one core, against the PNG-encode floor, for 11x13 grids.

The floor is Pillow alone encoding the very same images with the same settings; the ratio says what drawing adds
on top of it (the bar: at most 1.3x, and at least 150 images/s). Also prints bytes per image. Medians of several
runs, since these machines are noisy.

    python benchmarks/render.py [--count 40] [--repeats 7]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from crossmath import Puzzle, generate, render
from crossmath.render.draw import _render_palette, encode_png, resolve_style

T = TypeVar("T")


def grids(count: int, rows: int = 11, cols: int = 13) -> list[Puzzle]:
    found: list[Puzzle] = []
    index = 0
    while len(found) < count:
        puzzle = generate("hard", seed=1, index=index, max_rows=rows, max_cols=cols)
        index += 1
        if (puzzle.rows, puzzle.cols) == (rows, cols):
            found.append(puzzle)
    return found


def seconds_per_image(work: Callable[[T], object], items: Sequence[T]) -> float:
    start = time.perf_counter()
    for item in items:
        work(item)
    return (time.perf_counter() - start) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="distinct 11x13 puzzles per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per style (median reported)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    puzzles = grids(args.count)
    print(f"{'style':<9} {'images/s':>9} {'floor/s':>8} {'ratio':>6} {'bytes/image':>12}")
    for name in render.STYLES:
        style = resolve_style(name)
        render.png_bytes(puzzles[0], name)  # warm the tile cache, as any real build is after its first image
        images = [image for p in puzzles if (image := _render_palette(p, style, False, None)) is not None]
        full, floor = [], []
        for _ in range(args.repeats):
            full.append(seconds_per_image(functools.partial(render.png_bytes, style=name), puzzles))
            floor.append(seconds_per_image(encode_png, images))
        full_s, floor_s = statistics.median(full), statistics.median(floor)
        size = statistics.mean(len(render.png_bytes(p, name)) for p in puzzles)
        print(f"{name:<9} {1 / full_s:9.0f} {1 / floor_s:8.0f} {full_s / floor_s:5.2f}x {size:12.0f}")
    print("ratio = (render + encode) / encode alone; bar: <= 1.30x and >= 150 images/s on one core")


if __name__ == "__main__":
    main()
