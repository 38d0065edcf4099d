"""Scoring 250 transcriptions (parse, align, score cell by cell, then the read metrics with their bootstrap
intervals) against the bar of well under a second, and against a floor measured in the same run: splitting the
same replies into rows with the puzzle module's strict markdown reader alone.

The replies are the published test mix (90 easy, 85 medium, 75 hard puzzles), each written as a model might:
exact, with misread numbers, inside prose and a code fence, opened by a header row, or shifted by a row and a
column. Medians of several runs, since these machines are noisy.

    python benchmarks/transcripts.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from crossmath import generate
from crossmath.eval.read_metrics import read_metrics
from crossmath.eval.sources import EvalItem
from crossmath.eval.transcripts import score_reading, true_grid
from crossmath.puzzles.text import markdown_grid, markdown_rows, to_markdown

MIX = (("easy", 90), ("medium", 85), ("hard", 75))


def replies(markdown: str, k: int) -> str:
    grid = true_grid(markdown)
    if k % 5 == 1:  # two numbers misread
        cells = [(r, c) for r, row in enumerate(grid) for c, t in enumerate(row) if t.isdigit()][:2]
        for r, c in cells:
            grid[r][c] = grid[r][c][:-1] + "8"
    if k % 5 == 4:  # shifted down and right
        grid = [[""] * (len(grid[0]) + 1)] + [["", *row] for row in grid]
    text = markdown_rows(grid)
    if k % 5 == 2:
        text = f"Here is the grid.\n```\n<grid>\n{text}\n</grid>\n```\nI transcribed every cell."
    if k % 5 == 3:
        text = "| " + " | ".join(f"c{i}" for i in range(len(grid[0]))) + " |\n|" + "---|" * len(grid[0]) + "\n" + text
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs (median reported)")
    args = parser.parse_args()
    puzzles = [(d, generate(d, seed=11, index=i)) for d, n in MIX for i in range(n)]
    items = [EvalItem(f"p{k}", tuple(p.answer.split()), (), d, {"markdown": to_markdown(p)}, lambda: b"")
             for k, (d, p) in enumerate(puzzles)]
    texts = [replies(item.texts["markdown"], k) for k, item in enumerate(items)]
    plain = [markdown_rows(true_grid(item.texts["markdown"])) for item in items]
    records = [{"id": item.id, "sample": 0, "answer": None, "output": text} for item, text in zip(items, texts)]
    read_metrics(items[:5], records[:5], 1, "markdown")  # warm the bootstrap's caches, as a report's first figure
    scoring, floor, metrics = [], [], []
    for _ in range(args.repeats):
        began = time.perf_counter()
        for item, text in zip(items, texts):
            score_reading(true_grid(item.texts["markdown"]), text)
        scoring.append(time.perf_counter() - began)
        began = time.perf_counter()
        for text in plain:
            markdown_grid(text)
        floor.append(time.perf_counter() - began)
        began = time.perf_counter()
        read_metrics(items, records, 1, "markdown")
        metrics.append(time.perf_counter() - began)
    score, base, whole = (statistics.median(v) for v in (scoring, floor, metrics))
    print(f"{len(items)} transcriptions: scoring {score:.3f} s (bar: well under 1 s), floor (strict markdown "
          f"reader) {base:.4f} s, ratio {score / base:.1f}x; scoring with the read metrics and their bootstrap "
          f"intervals (overall, by difficulty, by each grid size) {whole:.3f} s")


if __name__ == "__main__":
    main()
