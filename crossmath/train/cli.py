"""The ``crossmath-train`` command: LoRA fine-tuning with TRL (SFT or GRPO) on a crossmath train split."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from crossmath._cli import comma_list, run_cli
from crossmath._version import __version__
from crossmath.eval.prompts import FORMAT_NAMES, TRANSCRIBE, load_template
from crossmath.train.data import TRAIN_MODALITIES
from crossmath.train.options import TrainOptions
from crossmath.train.rewards import REWARDS
from crossmath.train.targets import TARGETS, default_rewards


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossmath-train",
        description="Fine-tune an image-text-to-text model with a LoRA adapter on cross-math puzzles (a built "
                    "split, or an endless stream), with the evaluator's own prompts, by supervised fine-tuning (SFT) "
                    "or GRPO; the adapter folder loads in `crossmath-eval run --adapter`. Several processes or GPUs: "
                    "accelerate launch $(which crossmath-train) ...")
    parser.add_argument("--version", action="version", version=f"crossmath {__version__}")
    data = parser.add_argument_group("data")
    data.add_argument("--model", required=True, help="Hub id or local folder of the base model")
    data.add_argument("--dataset", help="a crossmath-build folder or Hub dataset id (or --stream)")
    data.add_argument("--stream", action="store_true",
                      help="train on puzzles made on the fly (crossmath.dataset.stream with --seed and the --style "
                           "config of crossmath-build's defaults) instead of --dataset; needs --max-steps")
    data.add_argument("--exclude", metavar="BUILD",
                      help="with --stream: a crossmath-build folder or Hub id whose test split is never streamed")
    data.add_argument("--curriculum", metavar="FACTOR=L1,L2",
                      help="with --stream and GRPO: stream level k of a puzzle factor (difficulty, depth, blanks, "
                           "equations, operators, range, max_rows, max_cols) until the mean correctness reward (read, "
                           "with --target transcribe) over the last --curriculum-window groups reaches "
                           "--curriculum-threshold, then level k+1")
    data.add_argument("--curriculum-threshold", type=float, default=0.8, help="move up at this reward (default 0.8)")
    data.add_argument("--curriculum-lower", type=float,
                      help="move back down below this reward (default: never down)")
    data.add_argument("--curriculum-window", type=int, default=32, help="groups averaged (default 32)")
    data.add_argument("--style", type=comma_list, default=["original"], metavar="S1,S2",
                      help="config(s) to train on (default original)")
    data.add_argument("--split", default="train", help="split (default train; test is refused without --allow-test)")
    data.add_argument("--allow-test", action="store_true", help="allow training on the test split (a leak)")
    data.add_argument("--limit", type=int, help="use only the first N puzzles of each style")
    data.add_argument("--modality", choices=TRAIN_MODALITIES,
                      help="prompt modality; mixed draws text, image or hybrid per example (seeded); transcribe is "
                           "the transcription prompt (default text; transcribe with --target transcribe)")
    data.add_argument("--text-format", choices=sorted(FORMAT_NAMES), default="markdown",
                      help="serialization in text and hybrid prompts (default markdown)")
    data.add_argument("--prompt-file", help="your own prompt template, as crossmath-eval --prompt-file takes it")
    data.add_argument("--out", required=True, help="adapter folder to write")

    method = parser.add_argument_group("method")
    method.add_argument("--method", choices=["sft", "grpo"], default="sft", help="default sft")
    method.add_argument("--target", choices=TARGETS, default="answer",
                        help="the reply trained: the <answer> block only; the solving steps then it; transcribe: "
                             "the grid transcribed from the image (trains reading; with GRPO, on the read reward); "
                             "self-distill (SFT): the model's own correct reply from --teacher-run under an image or "
                             "hybrid prompt (trains reasoning on images) (default answer)")
    method.add_argument("--teacher-run", metavar="RUN_DIR",
                        help="with --target self-distill: a crossmath-eval text-mode run of the same dataset and "
                             "split; its correct, untruncated replies are learnt (the others left out and counted)")
    method.add_argument("--num-generations", type=int, default=4, help="GRPO group size (default 4)")
    method.add_argument("--beta", "--kl-coef", type=float, default=0.04, dest="beta",
                        help="GRPO KL coefficient (default 0.04)")
    method.add_argument("--max-completion-length", type=int, default=256,
                        help="GRPO generation length in tokens (default 256)")
    method.add_argument("--temperature", type=float, default=1.0, help="GRPO sampling temperature (default 1.0)")
    method.add_argument("--rewards", type=comma_list, metavar="R1,R2",
                        help=f"GRPO rewards among {', '.join(REWARDS)} (default correctness,format; read with "
                             "--target transcribe, the only reward that scores a transcription)")
    method.add_argument("--use-vllm", action="store_true", help="GRPO rollouts with vLLM (TRL's vLLM support)")
    method.add_argument("--vllm-mode", choices=["colocate", "server"], default="colocate",
                        help="colocate: vLLM in the training processes; server: a `trl vllm-serve` server "
                             "(default colocate)")
    method.add_argument("--vllm-server-base-url", help="the server's URL in server mode, e.g. http://host:8000")

    lora = parser.add_argument_group("LoRA")
    lora.add_argument("--lora-r", type=int, default=16, help="rank (default 16)")
    lora.add_argument("--lora-alpha", type=int, default=32, help="scale (default 32)")
    lora.add_argument("--lora-dropout", type=float, default=0.05, help="dropout (default 0.05)")
    lora.add_argument("--target-modules", type=comma_list, default=[], metavar="M1,M2",
                      help="module names (or all-linear); default: the language model's attention and MLP "
                           "projections, vision tower frozen")
    lora.add_argument("--train-vision", action="store_true", help="also adapt the vision tower and projector")

    training = parser.add_argument_group("training")
    training.add_argument("--learning-rate", type=float, default=1e-4, help="default 1e-4")
    length = training.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=float, default=1.0, help="passes over the data (default 1)")
    length.add_argument("--max-steps", type=int, default=-1, help="optimizer steps (overrides --epochs)")
    training.add_argument("--batch-size", type=int, default=4, help="examples per device and step (default 4)")
    training.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps (default 1)")
    training.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for memory")
    training.add_argument("--dtype", default="auto", help="auto, bfloat16, float16 or float32 (default auto)")
    training.add_argument("--device-map", default="none",
                          help="transformers device map (default none: the trainer places the model)")
    training.add_argument("--attn-implementation", help="e.g. sdpa, flash_attention_2, eager")
    training.add_argument("--trust-remote-code", action="store_true", help="allow the model's own code")
    training.add_argument("--seed", type=int, default=0, help="default 0")
    training.add_argument("--eval-size", type=int, default=0,
                          help="hold out N train puzzles; their loss and token accuracy are logged (default 0)")
    training.add_argument("--save-steps", type=int, default=50, help="checkpoint every N steps (default 50)")
    training.add_argument("--logging-steps", type=int, default=1, help="log every N steps (default 1)")
    training.add_argument("--report-to", type=comma_list, default=["none"], metavar="R",
                          help="none (default), tensorboard, wandb, ... as installed")
    training.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    training.add_argument("--merge", action="store_true", help="also write the merged model to OUT/merged")
    training.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_train)
    return parser


def options_from(args: argparse.Namespace) -> TrainOptions:
    return TrainOptions(
        model=args.model, dataset=args.dataset, out=args.out, styles=tuple(args.style), split=args.split,
        allow_test=args.allow_test, limit=args.limit, text_format=args.text_format,
        modality=args.modality or (TRANSCRIBE if args.target == TRANSCRIBE else "text"),
        prompt_template=load_template(args.prompt_file) if args.prompt_file else None, method=args.method,
        target=args.target, teacher_run=args.teacher_run, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=tuple(args.target_modules), train_vision=args.train_vision,
        learning_rate=args.learning_rate, epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
        grad_accum=args.grad_accum, gradient_checkpointing=args.gradient_checkpointing, dtype=args.dtype,
        device_map=args.device_map, attn_implementation=args.attn_implementation,
        trust_remote_code=args.trust_remote_code, seed=args.seed, eval_size=args.eval_size,
        save_steps=args.save_steps, logging_steps=args.logging_steps, report_to=tuple(args.report_to),
        num_generations=args.num_generations, beta=args.beta, max_completion_length=args.max_completion_length,
        temperature=args.temperature, rewards=tuple(default_rewards(args.target) if args.rewards is None
                                                      else args.rewards),
        stream=args.stream, exclude=args.exclude,
        curriculum=args.curriculum, curriculum_threshold=args.curriculum_threshold,
        curriculum_lower=args.curriculum_lower, curriculum_window=args.curriculum_window, use_vllm=args.use_vllm,
        vllm_mode=args.vllm_mode, vllm_server_base_url=args.vllm_server_base_url, resume=args.resume,
        merge=args.merge, progress=not args.no_progress)


def _train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from crossmath.train.training import train

    out = train(options_from(args))
    from accelerate import PartialState

    if PartialState().is_main_process:  # under accelerate launch, one line for the one adapter
        print(f"wrote the adapter to {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
