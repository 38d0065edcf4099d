"""What writing the Parquet files costs a build: the time of the step that joins the chunks' Arrow parts into
``datasets``-written shards (content-defined chunking, page index), as a share of the whole build measured in the
same run, and the files it makes.

    python benchmarks/parquet.py [--train-size 5000] [--test-size 250] [--num-proc 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from crossmath._version import __version__
from crossmath.dataset import BuildSettings, build, pipeline
from crossmath.render import STYLES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=250)
    parser.add_argument("--num-proc", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    settings = BuildSettings(train_size=args.train_size, test_size=args.test_size, styles=tuple(STYLES.values()),
                             version=__version__)
    write_parquet = pipeline._write_parquet
    spent: list[float] = []

    def timed(*arguments):
        start = time.perf_counter()
        written = write_parquet(*arguments)
        spent.append(time.perf_counter() - start)
        return written

    pipeline._write_parquet = timed
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ds"
        start = time.perf_counter()
        build(out, settings, num_proc=args.num_proc, progress=False)
        total = time.perf_counter() - start
        files = sorted((out / "data").rglob("*.parquet"))
        print(f"build {total:.1f} s on {args.num_proc} processes; Parquet files {spent[0]:.1f} s "
              f"({spent[0] / total:.1%} of the build)")
        print(f"{len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB:")
        for path in files:
            print(f"  {path.relative_to(out)}  {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
