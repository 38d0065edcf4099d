"""The puzzle stream's throughput, and what streaming and a second process cost a training run.

1. Rows per second of ``crossmath.stream`` with images on one core, against the floor measured in the same run:
   rendering and PNG-encoding the very same puzzles (the bar: within 1.3x); and with a DataLoader of 2 workers.
2. A GRPO step on a tiny random model with ``--stream`` against the same step on a pre-built split (medians of the
   trainer's ``step_time``), and the time each step waited for its data (``data_wait``): the stream must never be
   what the trainer waits for.
3. Two processes (``accelerate launch --multi_gpu --num_processes 2`` on CPU: torchrun and gloo) against one, SFT on
   a pre-built split: examples per second, and both loss curves.

    python benchmarks/stream.py [--rows 300] [--repeats 5] [--steps 6] [--skip-train | --skip-stream]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).parents[1]


def stream_figures(rows: int, repeats: int) -> None:
    import datasets
    import torch

    import crossmath
    from crossmath.dataset.items import keys_of_test_split
    from crossmath.dataset.settings import BuildSettings
    from crossmath.dataset.streaming import StreamRows
    from crossmath.render import STYLES, png_bytes

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    settings = BuildSettings(styles=(STYLES["original"],))
    made = StreamRows(settings, "original", keys_of_test_split(settings))
    puzzles = [made.puzzle(p) for p in range(rows)]
    data = crossmath.stream("original", styles=(STYLES["original"],)).cast_column(
        "image", datasets.Image(decode=False))
    next(iter(data))  # warm the tile cache and the imports, as any long run is after its first row
    full, floor = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        for _row in islice(data, rows):
            pass
        full.append(rows / (time.perf_counter() - began))
        began = time.perf_counter()
        for puzzle in puzzles:
            png_bytes(puzzle, "original")
        floor.append(rows / (time.perf_counter() - began))
    stream_rate, floor_rate = statistics.median(full), statistics.median(floor)
    print(f"stream, one core: {stream_rate:.0f} rows/s with images; render + PNG floor {floor_rate:.0f} images/s; "
          f"floor/stream time ratio {floor_rate / stream_rate:.2f}x (bar: 1.3x)")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    rates = []
    for _ in range(repeats):
        reader = iter(loader)
        next(reader)  # the workers' start-up
        began = time.perf_counter()
        for _row in islice(reader, rows):
            pass
        rates.append(rows / (time.perf_counter() - began))
    print(f"stream, DataLoader num_workers=2: {statistics.median(rates):.0f} rows/s "
          f"({statistics.median(rates) / stream_rate:.2f}x one core; {os.cpu_count()} cores on this machine)")


def train_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def train_figures(steps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="crossmath-stream-bench-") as work:
        train_figures_in(Path(work), steps)


def train_figures_in(work: Path, steps: int) -> None:
    from crossmath.dataset import BuildSettings, build
    from crossmath.testing.random_models import tiny_qwen2_vl

    model = str(tiny_qwen2_vl(work / "model"))
    # crossmath-train --stream reads the stream of crossmath-build's defaults: this build's train rows are its first 64
    build(work / "data", BuildSettings(train_size=64), progress=False, num_proc=2)
    (work / "prompt.txt").write_text("Fill in the missing numbers. {puzzle}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    common = ["--model", model, "--prompt-file", str(work / "prompt.txt"), "--no-progress", "--batch-size", "4",
              "--max-steps", str(steps), "--save-steps", "1000", "--modality", "image", "--learning-rate", "2e-2"]
    grpo = ["--method", "grpo", "--num-generations", "2", "--max-completion-length", "8"]
    times, waits = {}, {}
    for name, source in (("pre-built split", ["--dataset", str(work / "data")]), ("stream", ["--stream"])):
        out = work / name.replace(" ", "-")
        subprocess.run([sys.executable, "-m", "crossmath.train.cli", *common, *grpo, *source, "--out", str(out)],
                       check=True, env=env, capture_output=True)
        logged = [line for line in train_log(out)[1:] if "step_time" in line]  # the first step warms up
        times[name] = statistics.median(line["step_time"] for line in logged)
        waits[name] = statistics.median(line["data_wait"] for line in logged)
    print(f"GRPO step, tiny model, image prompts: pre-built {times['pre-built split']:.3f} s, stream "
          f"{times['stream']:.3f} s (stream/pre-built {times['stream'] / times['pre-built split']:.2f}x)\n"
          f"  waiting for data per step (data_wait): pre-built {waits['pre-built split'] * 1000:.1f} ms, stream "
          f"{waits['stream'] * 1000:.1f} ms ({waits['stream'] / times['stream']:.1%} of the streamed step)")
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m",
              "crossmath.train.cli"]
    results = {}
    for name, prefix in (("one process", [sys.executable, "-m", "crossmath.train.cli"]), ("two processes", launch)):
        out = work / name.replace(" ", "-")
        subprocess.run([*prefix, *common, "--dataset", str(work / "data"), "--out", str(out)], check=True, env=env,
                       capture_output=True)
        lines = train_log(out)
        results[name] = (lines[-1]["train_samples_per_second"], [round(x["loss"], 3) for x in lines if "loss" in x])
    one, two = results["one process"], results["two processes"]
    print(f"SFT, tiny model: one process {one[0]:.1f} examples/s, two processes {two[0]:.1f} examples/s "
          f"({two[0] / one[0]:.2f}x)\n  losses, one process:   {one[1]}\n  losses, two processes: {two[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="rows per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs (median reported)")
    parser.add_argument("--steps", type=int, default=6, help="training steps per run")
    parser.add_argument("--skip-train", action="store_true", help="the stream's figures only")
    parser.add_argument("--skip-stream", action="store_true", help="the training figures only")
    args = parser.parse_args()
    if not args.skip_stream:
        stream_figures(args.rows, args.repeats)
    if not args.skip_train:
        train_figures(args.steps)


if __name__ == "__main__":
    main()
