"""Seconds to verify a file of 10,000 generated records, against the 30 s bar; and the worst crafted record.

The file mixes the three presets (the published proportions); each run checks every record as ``crossmath verify``
does (parse, solve, prove uniqueness, compare every stored fact). The crafted records are large grids with every
number blanked, which send the uniqueness search to its budget: the bound on work per record. Medians of several
runs, since these machines are noisy; CPU seconds are given too, since they do not count time spent waiting
for a core the host's other work holds.

    python benchmarks/verify.py [--records 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from crossmath import generate
from crossmath.puzzles.published_names import published_names
from crossmath.puzzles.records import to_record, write_records
from crossmath.puzzles.verify import judge_record, verify_file

BAR = 30.0
"""Seconds within which a file of 10,000 generated records must verify (issue 11)."""


def records(count: int) -> list[dict]:
    difficulties = ["easy"] * 90 + ["medium"] * 85 + ["hard"] * 75
    out = []
    for index in range(count):
        img, img_blank = published_names("original").image_names(index + 1)
        puzzle = generate(difficulties[index % len(difficulties)], seed=11, index=index)
        out.append(to_record(puzzle, img=img, img_blank=img_blank))
    return out


def crafted(equations: int) -> dict:
    """A sound record of a large grid with every shown number turned into a blank."""
    puzzle = generate("medium", seed=1, equations=equations, max_rows=61, max_cols=61)
    record = to_record(puzzle, img="a.png", img_blank="a_blank.png")
    return {**record, "markdown_table": re.sub(r"\| \d+ ", "| ? ", record["markdown_table"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="records in the file")
    parser.add_argument("--repeats", type=int, default=3, help="runs (median reported)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.jsonl"
        write_records(path, records(args.records))
        times, cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            report = verify_file(path)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert report.checked == args.records and report.ok(strict=True), report.summary()
    median = statistics.median(times)
    print(f"verify {args.records} generated records, one core: median {median:.1f} s wall "
          f"(min {min(times):.1f}, max {max(times):.1f}), {statistics.median(cpu):.1f} s CPU; "
          f"{args.records / median:.0f} records/s; {median / BAR:.2f}x the {BAR:.0f} s bar")
    for equations in (24, 60, 150):
        record = crafted(equations)
        spent, spent_cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            judge_record(record)
            spent.append(time.perf_counter() - start)
            spent_cpu.append(time.process_time() - start_cpu)
        print(f"crafted all-blank record, {equations} equations: median {statistics.median(spent):.2f} s wall, "
              f"{statistics.median(spent_cpu):.2f} s CPU")


if __name__ == "__main__":
    main()
