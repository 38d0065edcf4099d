"""Evaluator throughput: puzzles per second by batch size (transformers) or by concurrency (OpenAI API engine).

Every reply is forced to the same length, so batch sizes are compared on equal work. By default the model is a
tiny random Qwen2-VL-style model built on the spot (CPU figures); ``--model`` takes any model folder or Hub id,
and ``--random-from DIR`` builds a full-size randomly initialised model from a real model's config and processor
files (no weights needed), for GPU figures. The published script feeds one puzzle at a time (batch 1): the ratio
column is the speedup over it, measured in the same run.

``--engine api`` measures the OpenAI engine's client: a local OpenAI-compatible server answers every request after
a fixed delay, and the whole run loop (prompts, PNG data URLs, requests, prediction lines written and flushed) goes
through it at each ``--concurrency``. The floor is ``delay / concurrency`` seconds per puzzle (what a client that
adds nothing would take); the ratio column is the time per puzzle against it (goal: under 1.5x up to 64).

    python benchmarks/eval.py [--batch-sizes 1,4,16] [--puzzles 32] [--new-tokens 32] [--modality hybrid]
    python benchmarks/eval.py --random-from path/to/Qwen2-VL-2B-config --dtype bfloat16 --device-map cuda
    python benchmarks/eval.py --engine api [--delay 0.2] [--concurrency 1,4,16,64] [--modality hybrid]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder or Hub id (default: a tiny random model built here)")
    parser.add_argument("--random-from", help="folder with a real model's config.json and processor files")
    parser.add_argument("--dataset", help="crossmath-build folder (default: 64 puzzles built here)")
    parser.add_argument("--modality", default="hybrid", choices=["text", "image", "hybrid"])
    parser.add_argument("--batch-sizes", default="1,4,16")
    parser.add_argument("--puzzles", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device-map", default="auto")
    parser.add_argument("--engine", choices=["transformers", "api"], default="transformers")
    parser.add_argument("--delay", type=float, default=0.2, help="api: seconds the server takes per request")
    parser.add_argument("--concurrency", default="1,4,16,64", help="api: requests in flight")
    args = parser.parse_args()
    if args.engine == "api":
        bench_api(args)
        return

    from crossmath.eval.backends.base import Sampling
    from crossmath.eval.backends.transformers_backend import TransformersBackend
    from crossmath.eval.prompts import DEFAULT_TEMPLATES, build_prompt
    from crossmath.eval.sources import load_items
    from crossmath.testing.random_models import random_from_config, tiny_qwen2_vl

    work = Path(tempfile.mkdtemp(prefix="crossmath-eval-bench-"))
    model = args.model
    if model is None and args.random_from:
        device = "cuda" if args.device_map.startswith("cuda") else "cpu"
        model = str(random_from_config(args.random_from, work / "random-model", dtype="bfloat16", device=device))
    model = model or str(tiny_qwen2_vl(work / "tiny-qwen2-vl"))
    dataset = args.dataset
    if dataset is None:  # a published-format JSONL file also works (and needs no datasets package)
        from crossmath.dataset import BuildSettings, build
        from crossmath.render import STYLES

        dataset = str(work / "data")
        build(dataset, BuildSettings(train_size=0, test_size=max(64, args.puzzles), styles=(STYLES["original"],),
                                     version="bench"), progress=False)
    items = load_items(dataset, "original", "test", args.puzzles)
    prompts = [build_prompt(item, args.modality, "markdown", DEFAULT_TEMPLATES[args.modality]) for item in items]
    backend = TransformersBackend(model, dtype=args.dtype, device_map=args.device_map)
    sampling = Sampling(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)
    print(f"model {model} on {backend.describe()['device']}; {len(prompts)} {args.modality} prompts; "
          f"{args.new_tokens} new tokens each")
    print(f"{'batch':>5} {'puzzles/s':>10} {'tokens/s':>10} {'vs batch 1':>11}")
    baseline = None
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        backend.generate(prompts[:batch_size], sampling, seed=0)  # warm-up
        rates, token_rates = [], []
        for repeat in range(args.repeats):
            start, tokens = time.perf_counter(), 0
            for first in range(0, len(prompts), batch_size):
                results = backend.generate(prompts[first:first + batch_size], sampling, seed=repeat)
                tokens += sum(g.tokens or 0 for _, generations in results for g in generations)
            elapsed = time.perf_counter() - start
            rates.append(len(prompts) / elapsed)
            token_rates.append(tokens / elapsed)
        rate = statistics.median(rates)
        baseline = baseline or rate
        print(f"{batch_size:5d} {rate:10.2f} {statistics.median(token_rates):10.1f} {rate / baseline:10.2f}x")


def bench_api(args: argparse.Namespace) -> None:
    """Seconds per puzzle through the OpenAI engine against a server with a fixed delay, by concurrency."""
    from dataclasses import replace

    from crossmath.dataset import BuildSettings, build
    from crossmath.eval.backends.base import Sampling
    from crossmath.eval.backends.openai_backend import OpenAIBackend
    from crossmath.eval.prompts import DEFAULT_TEMPLATES
    from crossmath.eval.rundir import RunFolder
    from crossmath.eval.runner import predict
    from crossmath.eval.sources import load_items
    from crossmath.render import STYLES
    from crossmath.testing.answer_server import AnswerServer

    work = Path(tempfile.mkdtemp(prefix="crossmath-api-bench-"))
    dataset = args.dataset or str(work / "data")
    if args.dataset is None:
        build(dataset, BuildSettings(train_size=0, test_size=64, styles=(STYLES["original"],), version="bench"),
              progress=False)
    base = load_items(dataset, "original", "test", 64)
    levels = [int(c) for c in args.concurrency.split(",")]
    print(f"{args.modality} prompts; the server answers each request after {args.delay} s")
    print(f"{'concurrency':>11} {'puzzles':>8} {'puzzles/s':>10} {'s/puzzle':>9} {'floor':>8} {'ratio':>6}")
    # the server runs in its own process, as a real one would, so its work is not charged to the client
    server = subprocess.Popen([sys.executable, "-m", "crossmath.testing.answer_server", dataset, "--delay",
                               str(args.delay)], stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip() if server.stdout else ""
    try:
        for concurrency in levels:
            count = max(16, 8 * concurrency)  # eight rounds of requests at each level
            items = [replace(base[k % len(base)], id=f"p{k}") for k in range(count)]
            backend = OpenAIBackend(AnswerServer.MODEL, base_url=url, concurrency=concurrency, timeout=60)
            times = []
            for repeat in range(args.repeats):
                run = RunFolder(work / f"run-{concurrency}-{repeat}", {"style": "original"}, resume=False)
                start = time.perf_counter()
                predict(backend, items, run, modality=args.modality, text_format="markdown",
                        template=DEFAULT_TEMPLATES[args.modality], sampling=Sampling(max_new_tokens=64),
                        batch_size=4 * concurrency, seed=repeat, progress=False)
                times.append((time.perf_counter() - start) / count)
            per_puzzle, floor = statistics.median(times), args.delay / concurrency
            print(f"{concurrency:11d} {count:8d} {1 / per_puzzle:10.1f} {per_puzzle:9.4f} {floor:8.4f} "
                  f"{per_puzzle / floor:5.2f}x")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
