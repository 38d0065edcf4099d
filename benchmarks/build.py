"""Wall time and images per second of a dataset build, and how it scales from 1 process to all cores.

By default this is the default build (250 test + 5,000 train puzzles, four styles: 21,000 rows and images); the
bar is under 2 minutes on the project's 2-core machine. Each process count builds from scratch into a temporary
folder; the fingerprints must agree.

    python benchmarks/build.py [--train-size 5000] [--test-size 250]

With ``--sweep`` it times factor sweeps instead: 4 levels x the test puzzles (default 250, no train split) against
4 plain styles of the same puzzles, one process, each build repeated and the median taken; the bar is a sweep
under 1.5x the plain build.

    python benchmarks/build.py --sweep [--test-size 250] [--repeats 3]

With ``--conflict`` it times the test split (default 250, no train split, four styles) built with ``--conflict``
(four more configs: the same images, each puzzle's twin text) against the plain build, one process, interleaved,
medians; the bar is under 2x the plain build. It prints how many shown numbers the twins change.

    python benchmarks/build.py --conflict [--test-size 250] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from crossmath._version import __version__
from crossmath.dataset import BuildSettings, build
from crossmath.render import STYLES
from crossmath.schema import MANIFEST

SWEEPS = {
    "font_size=12,18,24,32 (image factor)": {"font_size": [12, 18, 24, 32]},
    "depth=1,2,3,4 (same grids, new blanks)": {"depth": [1, 2, 3, 4]},
    "gaussian_noise=0,4,8,16 (perturbation)": {"gaussian_noise": [0, 4, 8, 16]},
}
SWEEP_BAR = 1.5
CONFLICT_BAR = 2.0


def _timed(settings: BuildSettings) -> tuple[float, dict]:
    """Seconds of a one-process build from scratch, and its manifest."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        build(Path(folder) / "ds", settings, num_proc=1, progress=False)
        seconds = time.perf_counter() - start
        return seconds, json.loads((Path(folder) / "ds" / MANIFEST).read_text())


def _seconds(settings: BuildSettings) -> float:
    return _timed(settings)[0]


def conflict(test_size: int, repeats: int) -> None:
    """Median wall time of a --conflict test build against the plain one, and the twins' changed-number counts."""
    plain = BuildSettings(train_size=0, test_size=test_size, styles=tuple(STYLES.values()), version=__version__)
    with_twins = BuildSettings(train_size=0, test_size=test_size, styles=tuple(STYLES.values()), conflict=True,
                               version=__version__)
    times: dict[str, list[float]] = {"plain (4 configs)": [], "--conflict (8 configs)": []}
    changes: dict[str, int] = {}
    for _ in range(repeats):  # interleaved, so a noisy minute hits both alike
        times["plain (4 configs)"].append(_seconds(plain))
        seconds, manifest = _timed(with_twins)
        times["--conflict (8 configs)"].append(seconds)
        changes = manifest["conflict_changes"]
    baseline = statistics.median(times["plain (4 configs)"])
    print(f"{test_size} test puzzles x 4 styles, 1 process, median of {repeats}")
    print(f"{'build':<26} {'median s':>9} {'ratio':>7}")
    for name, values in times.items():
        print(f"{name:<26} {statistics.median(values):9.2f} {statistics.median(values) / baseline:6.2f}x")
    print(f"bar: a --conflict build under {CONFLICT_BAR}x the plain build")
    print("shown numbers changed per twin: " + ", ".join(
        f"{k}: {n} ({100 * n / test_size:.1f}%)" for k, n in sorted(changes.items(), key=lambda kv: int(kv[0]))))


def sweep(test_size: int, repeats: int) -> None:
    """Median wall time of each 4-level sweep against 4 plain styles of the same puzzles, one process."""
    plain = BuildSettings(train_size=0, test_size=test_size, styles=tuple(STYLES.values()), version=__version__)
    variants = {name: BuildSettings(train_size=0, test_size=test_size, styles=(STYLES["original"],), vary=vary,
                                    version=__version__) for name, vary in SWEEPS.items()}
    times: dict[str, list[float]] = {"4 plain styles (baseline)": [], **{name: [] for name in variants}}
    for _ in range(repeats):  # interleaved, so a noisy minute hits every build alike
        times["4 plain styles (baseline)"].append(_seconds(plain))
        for name, settings in variants.items():
            times[name].append(_seconds(settings))
    baseline = statistics.median(times["4 plain styles (baseline)"])
    print(f"{test_size} test puzzles x 4 configs, 1 process, median of {repeats}")
    print(f"{'build':<42} {'median s':>9} {'ratio':>7}")
    for name, values in times.items():
        ratio = statistics.median(values) / baseline
        print(f"{name:<42} {statistics.median(values):9.2f} {ratio:6.2f}x")
    print(f"bar: a 4-level sweep under {SWEEP_BAR}x the plain build")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=250)
    parser.add_argument("--sweep", action="store_true", help="time 4-level factor sweeps against 4 plain styles")
    parser.add_argument("--conflict", action="store_true", help="time a --conflict test build against the plain one")
    parser.add_argument("--repeats", type=int, default=3, help="with --sweep or --conflict: builds of each kind "
                                                               "(median)")
    args = parser.parse_args()
    if args.conflict:
        conflict(args.test_size, args.repeats)
        return
    if args.sweep:
        sweep(args.test_size, args.repeats)
        return
    settings = BuildSettings(train_size=args.train_size, test_size=args.test_size, styles=tuple(STYLES.values()),
                             version=__version__)
    images = (args.train_size + args.test_size) * len(settings.styles)
    cores = os.cpu_count() or 1
    print(f"{images} images ({args.test_size} test + {args.train_size} train puzzles x {len(STYLES)} styles)")
    print(f"{'processes':>9} {'wall s':>8} {'images/s':>9} {'speedup':>8}")
    baseline = None
    fingerprints = set()
    for num_proc in sorted({1, cores}):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            report = build(Path(folder) / "ds", settings, num_proc=num_proc, progress=False)
            wall = time.perf_counter() - start
        fingerprints.add(report.fingerprint)
        baseline = baseline or wall
        print(f"{num_proc:9d} {wall:8.1f} {images / wall:9.0f} {baseline / wall:7.2f}x")
    print(f"fingerprints agree: {len(fingerprints) == 1}; bar: the default build in under 120 s on all cores")


if __name__ == "__main__":
    main()
