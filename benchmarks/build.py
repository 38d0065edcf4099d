"""Wall time and images per second of a dataset build, and how it scales from 1 process to all cores.

By default this is the default build (250 test + 5,000 train puzzles, four styles: 21,000 rows and images); the
bar is under 2 minutes on the project's 2-core machine. Each process count builds from scratch into a temporary
folder; the fingerprints must agree.

    python benchmarks/build.py [--train-size 5000] [--test-size 250]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from crossmath._version import __version__
from crossmath.dataset import BuildSettings, build
from crossmath.render import STYLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=250)
    args = parser.parse_args()
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
