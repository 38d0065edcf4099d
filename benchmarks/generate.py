"""Verified puzzles per second per difficulty, on one core, against the 1,000 hard puzzles/s floor.

Each puzzle counts only once it has been generated and verified (re-solved from its shown numbers and proven
unique by search), which is what ``generate`` always does. Prints the median of several runs, since these
machines are noisy.

    python benchmarks/generate.py [--count 400] [--repeats 7] [--profile published|compact]
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


def rate(difficulty: str, count: int, seed: int, profile: str) -> float:
    start = time.perf_counter()
    for index in range(count):
        generate(difficulty, seed=seed, index=index, profile=profile)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="puzzles per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per difficulty (median reported)")
    parser.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE, help="generation profile")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"profile {args.profile}")
    print(f"{'difficulty':<10} {'median/s':>9} {'min/s':>7} {'max/s':>7} {'vs floor':>9}")
    for difficulty in PROFILES[args.profile]:
        rates = [rate(difficulty, args.count, seed, args.profile) for seed in range(args.repeats)]
        median = statistics.median(rates)
        print(f"{difficulty:<10} {median:9.0f} {min(rates):7.0f} {max(rates):7.0f} {median / FLOOR:8.2f}x")
    print(f"floor: {FLOOR:.0f} verified puzzles/s on one core (the bar set for hard)")


if __name__ == "__main__":
    main()
