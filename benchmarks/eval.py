"""Evaluator throughput: puzzles per second and generated tokens per second by batch size.

Every reply is forced to the same length, so batch sizes are compared on equal work. By default the model is a
tiny random Qwen2-VL-style model built on the spot (CPU figures); ``--model`` takes any model folder or Hub id,
and ``--random-from DIR`` builds a full-size randomly initialised model from a real model's config and processor
files (no weights needed), for GPU figures. The published script feeds one puzzle at a time (batch 1): the ratio
column is the speedup over it, measured in the same run.

    python benchmarks/eval.py [--batch-sizes 1,4,16] [--puzzles 32] [--new-tokens 32] [--modality hybrid]
    python benchmarks/eval.py --random-from path/to/Qwen2-VL-2B-config --dtype bfloat16 --device-map cuda
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    args = parser.parse_args()

    from crossmath.dataset import BuildSettings, build
    from crossmath.eval.backends.base import Sampling
    from crossmath.eval.backends.transformers_backend import TransformersBackend
    from crossmath.eval.prompts import DEFAULT_TEMPLATES, build_prompt
    from crossmath.eval.random_models import random_from_config, tiny_qwen2_vl
    from crossmath.eval.sources import load_items
    from crossmath.render import STYLES

    work = Path(tempfile.mkdtemp(prefix="crossmath-eval-bench-"))
    model = args.model
    if model is None and args.random_from:
        model = str(random_from_config(args.random_from, work / "random-model", dtype="bfloat16"))
    model = model or str(tiny_qwen2_vl(work / "tiny-qwen2-vl"))
    dataset = args.dataset
    if dataset is None:
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
                tokens += sum(g.tokens for _, generations in results for g in generations)
            elapsed = time.perf_counter() - start
            rates.append(len(prompts) / elapsed)
            token_rates.append(tokens / elapsed)
        rate = statistics.median(rates)
        baseline = baseline or rate
        print(f"{batch_size:5d} {rate:10.2f} {statistics.median(token_rates):10.1f} {rate / baseline:10.2f}x")


if __name__ == "__main__":
    main()
