"""Training throughput: examples per second of crossmath-train's SFT step (TRL's SFTTrainer, LoRA) by batch size.

Each batch size gets a fresh LoRA adapter and runs warm-up steps, then measured steps; the figure is the batch size
over the median time from one step's end to the next (batch loading and collation included, every step
synchronised with the device), and the ratio column compares it with batch
1 measured in the same run. By default the model is a tiny random Qwen2-VL-style model built on the spot (CPU
figures). ``--random-from DIR`` builds a full-size randomly initialised model from a real model's config and
processor files (no weights needed), and ``--shape qwen2-vl-2b`` writes such a folder itself: Qwen2-VL-2B's
architecture and image processor with the tiny tokenizer (so no download is needed; prompts run longer in tokens
than with the real tokenizer, which the printed prompt length shows).

    python benchmarks/train.py [--batch-sizes 1,4,16] [--steps 8] [--modality hybrid]
    python benchmarks/train.py --shape qwen2-vl-2b --device-map cuda --dtype bfloat16 --batch-sizes 1,4,8
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

QWEN2_VL_2B = dict(
    text_config=dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                     num_key_value_heads=2, max_position_embeddings=32768, vocab_size=151936, tie_word_embeddings=True,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]}),
    vision_config=dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, mlp_ratio=4, patch_size=14,
                       spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
)
"""Qwen2-VL-2B-Instruct's published architecture."""


def qwen2_vl_2b_shape(folder: Path) -> Path:
    """A config folder with Qwen2-VL-2B's architecture and image processor, and the tiny model's tokenizer."""
    import json

    from transformers import AutoProcessor, Qwen2VLImageProcessor

    from crossmath.testing.random_models import tiny_qwen2_vl

    tiny = tiny_qwen2_vl(folder / "tiny")
    processor = AutoProcessor.from_pretrained(tiny)
    processor.image_processor = Qwen2VLImageProcessor()  # 14 px patches, merge 2: the real model's defaults
    processor.save_pretrained(folder / "config")
    config = json.loads((tiny / "config.json").read_text())
    for part, values in QWEN2_VL_2B.items():
        config[part].update(values)
    config["text_config"].pop("layer_types", None)  # one entry per layer of the tiny model; derived again
    (folder / "config" / "config.json").write_text(json.dumps(config, indent=2))
    return folder / "config"


def step_timer(synchronize):
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Time between the ends of consecutive steps: loading and collating the batch included."""

        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            synchronize()
            self.ends.append(time.perf_counter())

        @property
        def durations(self) -> list[float]:
            return [b - a for a, b in zip(self.ends, self.ends[1:])]

    return StepTimer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder or Hub id (default: a tiny random model built here)")
    parser.add_argument("--random-from", help="folder with a real model's config.json and processor files")
    parser.add_argument("--shape", choices=["qwen2-vl-2b"], help="write a full-size config folder (see above)")
    parser.add_argument("--dataset", help="crossmath-build folder (default: 64 train puzzles built here)")
    parser.add_argument("--modality", default="hybrid", choices=["text", "image", "hybrid"])
    parser.add_argument("--batch-sizes", default="1,4,16")
    parser.add_argument("--steps", type=int, default=8, help="measured steps per batch size")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured steps first (at least 1)")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device-map", default="none")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    args = parser.parse_args()

    import torch

    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES
    from crossmath.testing.random_models import random_from_config, tiny_qwen2_vl
    from crossmath.train.model import load_base
    from crossmath.train.options import TrainOptions
    from crossmath.train.training import examples, make_trainer

    work = Path(tempfile.mkdtemp(prefix="crossmath-train-bench-"))
    config_dir = qwen2_vl_2b_shape(work / "shape") if args.shape else args.random_from
    model = args.model
    if model is None and config_dir:
        model = str(random_from_config(config_dir, work / "random-model", dtype="bfloat16"))
    model = model or str(tiny_qwen2_vl(work / "tiny-qwen2-vl"))
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    dataset = args.dataset
    if dataset is None:
        dataset = str(work / "data")
        build(dataset, BuildSettings(train_size=max(64, max(batch_sizes) * 2), test_size=10,
                                     styles=(STYLES["original"],), version="bench"), progress=False)
    cuda = torch.cuda.is_available() and args.device_map != "none" and "cpu" not in args.device_map
    synchronize = torch.cuda.synchronize if cuda else (lambda: None)
    baseline = None
    for batch_size in batch_sizes:
        options = TrainOptions(model=model, dataset=dataset, out=str(work / f"run-{batch_size}"),
                               modality=args.modality, batch_size=batch_size, max_steps=args.warmup + args.steps,
                               save_steps=10**9, logging_steps=10**9, dtype=args.dtype, device_map=args.device_map,
                               gradient_checkpointing=args.gradient_checkpointing, progress=False)
        rows, _, _ = examples(options)
        base, processor = load_base(model, dtype=args.dtype, device_map=args.device_map, attn_implementation=None,
                                    trust_remote_code=False)
        trainer = make_trainer(options, Path(options.out), base, processor, rows, [])
        timer = step_timer(synchronize)
        trainer.add_callback(timer)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
        if baseline is None:
            tokens = trainer.data_collator([dict(trainer.train_dataset[0])])["input_ids"].shape[1]
            print(f"model {model} ({base.dtype}) on {base.device}; {args.modality} prompts, about {tokens} tokens "
                  f"each with the reply; LoRA r={options.lora_r} on the language model")
            print(f"{'batch':>5} {'examples/s':>11} {'s/step':>8} {'vs batch 1':>11} {'peak GiB':>9}")
        step = statistics.median(timer.durations[args.warmup - 1:])
        rate = batch_size / step
        baseline = baseline or rate
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
        print(f"{batch_size:5d} {rate:11.2f} {step:8.3f} {rate / baseline:10.2f}x {peak:9.1f}", flush=True)
        del trainer, base
        if cuda:
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
