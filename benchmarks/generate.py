"""Verified puzzles per second per difficulty, on one core, against the 1,000 hard puzzles/s floor.

Each puzzle counts only once it has been generated and verified (re-solved from its shown numbers and proven
unique by search), which is what ``generate`` always does. Runs of the chosen profile alternate with runs of a
baseline profile (compact, the generator before the published profile), so both meet the same noise; prints the
median of several runs by wall clock and by the process's CPU time (which a shared, busy host disturbs less).

    python benchmarks/generate.py [--count 400] [--repeats 7] [--profile published] [--baseline compact]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from crossmath import generate
from crossmath.puzzles.generator import DEFAULT_PROFILE, PROFILES

FLOOR = 1000.0
"""Verified hard puzzles per second that the project promises on one core."""


def rate(difficulty: str, count: int, seed: int, profile: str) -> tuple[float, float]:
    """Puzzles per second of wall clock and of CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(count):
        generate(difficulty, seed=seed, index=index, profile=profile)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="puzzles per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per difficulty (median reported)")
    parser.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE, help="generation profile")
    parser.add_argument("--baseline", choices=list(PROFILES), default="compact", help="profile to compare with")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"{'difficulty':<10} {args.profile + ' wall/s':>17} {'cpu/s':>7} {'vs floor':>9} "
          f"{args.baseline + ' wall/s':>15} {'cpu/s':>7} {'ratio':>6}")
    for difficulty in PROFILES[args.profile]:
        runs: dict[str, list[tuple[float, float]]] = {args.profile: [], args.baseline: []}
        for seed in range(args.repeats):
            for profile in runs:
                runs[profile].append(rate(difficulty, args.count, seed, profile))
        (wall, cpu), (base_wall, base_cpu) = ([statistics.median(r[i] for r in runs[p]) for i in (0, 1)]
                                             for p in (args.profile, args.baseline))
        print(f"{difficulty:<10} {wall:17.0f} {cpu:7.0f} {wall / FLOOR:8.2f}x {base_wall:15.0f} {base_cpu:7.0f} "
              f"{wall / base_wall:5.2f}x")
    print(f"floor: {FLOOR:.0f} verified puzzles/s on one core (the bar set for hard); vs floor and ratio by wall "
          f"clock (medians of {args.repeats} runs of {args.count})")


if __name__ == "__main__":
    main()
