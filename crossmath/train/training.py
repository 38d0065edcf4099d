"""One training run: examples, base model, LoRA, TRL's SFTTrainer or GRPOTrainer, and the adapter folder.

The folder holds the peft adapter (``adapter_config.json`` naming the base model exactly as given), the
processor files, ``crossmath_train.json`` (options, dataset fingerprint, versions, prompt templates),
``train_log.jsonl`` (one line per logged step: loss, learning rate, ... as the trainer logs them, and
``data_wait``, the seconds per step it waited for data), the trainer's
``checkpoint-N`` folders (``--resume`` continues from the last), and with ``--merge`` a ``merged/`` model.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossmath._cli import check_ranges
from crossmath._version import __version__
from crossmath.errors import CrossmathError
from crossmath.eval.sources import describe_source, source_fingerprint
from crossmath.train.data import example_rows, hold_out, modalities_for, templates_for, to_dataset, training_items
from crossmath.train.data_wait import data_wait_callback
from crossmath.train.model import check_fits, check_target_modules, load_base, lora_config
from crossmath.train.options import CONFIG_FILE, LOG_FILE, TrainOptions
from crossmath.train.pacing import curriculum_callback, curriculum_of, restore
from crossmath.train.rewards import REWARDS
from crossmath.train.streamed import stream_examples
from crossmath.train.targets import SELF_DISTILL, check_rewards, check_target, curriculum_reward
from crossmath.train.teacher import TeacherReplies, check_teacher_run, teacher_replies

if TYPE_CHECKING:
    import datasets
    from transformers import TrainerCallback

MERGED = "merged"


def _log_callback(path: Path) -> TrainerCallback:
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        """Appends every log the trainer makes (with its step) to ``train_log.jsonl``, flushed at once."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                with path.open("a", encoding="utf-8") as file:
                    file.write(json.dumps({"step": state.global_step, "epoch": state.epoch, **logs}) + "\n")

    return JsonlLog()


def last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(out)) if out.is_dir() else None


def _check_numbers(options: TrainOptions) -> None:
    """Every number in its range, so that no library fails on it after the model has loaded (or trains nothing:
    ``--epochs 0``, ``--max-steps 0``)."""
    finite, grpo = math.isfinite, options.method == "grpo"
    at_least_1 = {"--lora-r": options.lora_r, "--lora-alpha": options.lora_alpha, "--batch-size": options.batch_size,
                  "--grad-accum": options.grad_accum, "--save-steps": options.save_steps,
                  "--logging-steps": options.logging_steps, "--max-completion-length": options.max_completion_length}
    check_ranges([
        ("--learning-rate", finite(options.learning_rate) and options.learning_rate > 0, "a number above 0"),
        ("--epochs", finite(options.epochs) and options.epochs > 0, "a number above 0"),
        ("--max-steps", options.max_steps == -1 or options.max_steps >= 1, "at least 1"),
        ("--lora-dropout", 0 <= options.lora_dropout < 1, "from 0 up to (not including) 1"),
        *((name, value >= 1, "at least 1") for name, value in at_least_1.items()),
        ("--limit", options.limit is None or options.limit >= 1, "at least 1"),
        ("--eval-size", options.eval_size >= 0, "at least 0"),
        ("--num-generations", not grpo or options.num_generations >= 2, "at least 2 for GRPO"),
        ("--temperature", not grpo or (finite(options.temperature) and options.temperature > 0), "above 0 for GRPO"),
        ("--beta", not grpo or (finite(options.beta) and options.beta >= 0), "a number of 0 or more for GRPO"),
    ])


def _check_report_to(names: Sequence[str]) -> None:
    """``--report-to``: none, all, or integrations installed here (transformers refuses others once the model has
    loaded)."""
    if set(names) <= {"none"}:
        return
    from transformers.integrations import get_available_reporting_integrations

    available = get_available_reporting_integrations()
    unknown = [name for name in names if name not in ("none", "all", *available)]
    if unknown:
        raise CrossmathError(f"--report-to {', '.join(unknown)}: not available here; choose none, all or one of "
                             f"{', '.join(available) or '(none installed)'}")


def _check(options: TrainOptions, out: Path) -> str | None:
    """Refuse bad settings before anything is loaded; the checkpoint to resume from, if any."""
    _check_numbers(options)
    _check_report_to(options.report_to)
    if options.method == "grpo" and (options.batch_size * options.grad_accum) % options.num_generations:
        raise CrossmathError(f"--batch-size x --grad-accum ({options.batch_size * options.grad_accum}) must be a "
                             f"multiple of --num-generations ({options.num_generations}) for GRPO")
    unknown = set(options.rewards) - set(REWARDS)
    if unknown or not options.rewards:
        raise CrossmathError(f"rewards are {', '.join(REWARDS)}; got {', '.join(options.rewards) or 'none'}")
    check_target(options.target, options.modality, options.method, options.teacher_run)
    if options.method == "grpo":
        check_rewards(options.target, options.rewards)
    if options.target == SELF_DISTILL:
        if options.stream or options.dataset is None:
            raise CrossmathError("--target self-distill pairs a teacher run with the puzzles of its --dataset; it "
                                 "cannot take --stream")
        check_teacher_run(options.teacher_run, options.dataset, options.split)
    if options.split == "test" and not options.allow_test:
        raise CrossmathError("refusing to train on the test split (it would leak into the evaluation); "
                             "use --split train, or --allow-test if you mean it")
    _check_source(options)
    _check_vllm(options)
    if options.resume:
        options.check_resumable(out)
        return last_checkpoint(out)
    if (out / CONFIG_FILE).exists():
        raise CrossmathError(f"{out} already holds a training run; use --resume to continue it or another --out")
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise CrossmathError(f"--out {out} exists and is not an empty folder; the adapter needs a new or empty one")
    return None


def _check_source(options: TrainOptions) -> None:
    """A pre-built split or the stream, with what each needs; the curriculum and held-out set checked in one line."""
    from crossmath.dataset.heldout import held_out_keys

    if not options.stream:
        if not options.dataset:
            raise CrossmathError("name the training data: --dataset (a crossmath build) or --stream")
        for flag, given in (("--exclude", options.exclude), ("--curriculum", options.curriculum)):
            if given is not None:
                raise CrossmathError(f"{flag} applies to --stream (a built --dataset has its own splits)")
        return
    if options.dataset:
        raise CrossmathError("--stream makes its own puzzles; drop --dataset (or drop --stream to train on it)")
    if options.max_steps < 1:
        raise CrossmathError("--stream never ends: give --max-steps N")
    if len(options.styles) != 1:
        raise CrossmathError(f"--stream takes one --style, got {', '.join(options.styles)}")
    if options.eval_size or options.limit is not None:
        raise CrossmathError("--eval-size and --limit apply to --dataset; a stream has no end to hold out from")
    if options.curriculum is not None:
        followed = curriculum_reward(options.target)
        if options.method != "grpo" or followed not in options.rewards:
            raise CrossmathError(f"--curriculum follows the {followed} reward: use --method grpo with {followed} "
                                 "among --rewards")
        curriculum_of(options)
    held_out_keys(options.exclude)


def _check_vllm(options: TrainOptions) -> None:
    if not options.use_vllm:
        if options.vllm_server_base_url:
            raise CrossmathError("--vllm-server-base-url needs --use-vllm --vllm-mode server")
        return
    if options.method != "grpo":
        raise CrossmathError("--use-vllm generates GRPO rollouts; use it with --method grpo")
    if options.vllm_mode not in ("colocate", "server"):
        raise CrossmathError(f"--vllm-mode is colocate or server, not {options.vllm_mode!r}")
    if options.vllm_server_base_url and options.vllm_mode != "server":
        raise CrossmathError("--vllm-server-base-url needs --vllm-mode server")
    if importlib.util.find_spec("vllm") is None:
        raise CrossmathError("--use-vllm needs vLLM, which is not installed here (pip install vllm, on a machine "
                             "with a GPU)")


def _trainer_config(options: TrainOptions, out: Path, model: Any, evaluating: bool) -> dict[str, Any]:
    import dataclasses

    import torch
    from transformers import TrainingArguments

    # transformers 5.2x renamed gradient_checkpointing (still accepted, with a warning) to activation_checkpointing
    names = {field.name for field in dataclasses.fields(TrainingArguments)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"

    return dict(
        output_dir=str(out), per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size, gradient_accumulation_steps=options.grad_accum,
        learning_rate=options.learning_rate, num_train_epochs=options.epochs, max_steps=options.max_steps,
        logging_steps=options.logging_steps, save_steps=options.save_steps, save_total_limit=2,
        eval_strategy="steps" if evaluating else "no", eval_steps=options.save_steps if evaluating else None,
        report_to=list(options.report_to), seed=options.seed, data_seed=options.seed,
        **{checkpointing: options.gradient_checkpointing},
        bf16=model.dtype == torch.bfloat16, fp16=model.dtype == torch.float16,
        use_cpu=not torch.cuda.is_available(),  # without it, bf16 on a machine without a GPU is refused
        disable_tqdm=not options.progress, dataloader_num_workers=0,
    )


def grpo_arguments(options: TrainOptions) -> dict[str, Any]:
    """GRPOConfig's arguments beyond the common ones: the group, the sampling, vLLM rollouts as asked, and for a
    stream no shuffle buffer (its order is already random, and a buffer would delay the curriculum)."""
    arguments: dict[str, Any] = dict(num_generations=options.num_generations, beta=options.beta,
                                     max_completion_length=options.max_completion_length,
                                     temperature=options.temperature, shuffle_dataset=not options.stream)
    if options.use_vllm:
        arguments.update(use_vllm=True, vllm_mode=options.vllm_mode)
        if options.vllm_server_base_url:
            arguments["vllm_server_base_url"] = options.vllm_server_base_url
    return arguments


def make_trainer(options: TrainOptions, out: Path, model: Any, processor: Any,
                 train_rows: list | datasets.IterableDataset, eval_rows: list) -> Any:
    """TRL's SFTTrainer or GRPOTrainer on the rows (or the stream's), with the LoRA configuration (applied by the
    trainer)."""
    peft_config = lora_config(model, r=options.lora_r, alpha=options.lora_alpha, dropout=options.lora_dropout,
                              target_modules=options.target_modules or None, train_vision=options.train_vision)
    common = _trainer_config(options, out, model, bool(eval_rows))
    train_data = to_dataset(train_rows) if isinstance(train_rows, list) else train_rows
    datasets = dict(train_dataset=train_data, eval_dataset=to_dataset(eval_rows) if eval_rows else None)
    if options.method == "grpo":
        from trl import GRPOConfig, GRPOTrainer

        grpo = GRPOConfig(**common, **grpo_arguments(options))
        rewards: list[Any] = [REWARDS[name] for name in options.rewards]
        return GRPOTrainer(model, reward_funcs=rewards, args=grpo, processing_class=processor,
                           peft_config=peft_config, **datasets)
    from trl import SFTConfig, SFTTrainer

    config = SFTConfig(**common, max_length=None, completion_only_loss=True)
    return SFTTrainer(model, args=config, processing_class=processor, peft_config=peft_config, **datasets)


def examples(options: TrainOptions) -> tuple[list[dict], list[dict], dict[str, str]]:
    """Training and held-out rows of a built dataset, and the prompt template of each modality used."""
    rows, held, templates, _ = examples_taught(options)
    return rows, held, templates


def examples_taught(options: TrainOptions) -> tuple[list[dict], list[dict], dict[str, str], TeacherReplies | None]:
    """:func:`examples`, and with ``--target self-distill`` the teacher's replies (puzzles without a correct one
    are left out)."""
    templates = templates_for(options.modality, options.prompt_template)
    assert options.dataset is not None  # checked: without --stream there is a dataset
    items = training_items(options.dataset, options.styles, options.split, options.limit)
    teacher = None
    if options.target == SELF_DISTILL and options.teacher_run is not None:
        teacher = teacher_replies(options.teacher_run, items)
        items = [item for item in items if item.id in teacher.replies]
    if options.modality != "image" and options.text_format not in items[0].texts:
        raise CrossmathError(f"{options.dataset} carries no {options.text_format} text (it has "
                             f"{', '.join(items[0].texts)}); choose another --text-format")
    train_items, eval_items = hold_out(items, options.eval_size, options.seed)
    target = None if options.method == "grpo" else options.target
    rows = []
    for offset, part in enumerate((train_items, eval_items)):
        modalities = modalities_for(len(part), options.modality, options.seed + offset)
        rows.append(example_rows(part, modalities, templates=templates, text_format=options.text_format,
                                 target=target, teacher=teacher.replies if teacher else None))
    return rows[0], rows[1], templates, teacher


def train(options: TrainOptions) -> Path:
    """Train as ``options`` say and return the adapter folder.

    Under ``accelerate launch`` every process runs this: each checks the options (all before any writes, so none
    sees another's files), reads its own shard of the data, and only the main process writes the folder's files."""
    out = Path(options.out)
    checkpoint = _check(options, out)  # first: a refused request never waits for torch to import
    from accelerate import PartialState

    process = PartialState()
    check_fits(options.model, options.modality, options.trust_remote_code)
    check_target_modules(options.model, options.target_modules, options.trust_remote_code)
    process.wait_for_everyone()
    curriculum = curriculum_of(options)
    teacher = None
    if options.stream:
        templates = templates_for(options.modality, options.prompt_template)
        train_rows: list | datasets.IterableDataset = stream_examples(options, templates, curriculum)
        eval_rows: list = []
    else:
        train_rows, eval_rows, templates, teacher = examples_taught(options)
        if teacher is not None and process.is_main_process:
            print(teacher.summary())
    model, processor = load_base(options.model, dtype=options.dtype, device_map=options.device_map,
                                 attn_implementation=options.attn_implementation,
                                 trust_remote_code=options.trust_remote_code)
    out.mkdir(parents=True, exist_ok=True)
    trainer = make_trainer(options, out, model, processor, train_rows, eval_rows)
    trainer.model.peft_config["default"].base_model_name_or_path = options.model
    if curriculum is not None:
        restore(curriculum, checkpoint)
        trainer.add_callback(curriculum_callback(curriculum, options))  # before the log: it adds the level
    trainer.add_callback(data_wait_callback())  # before the log too: it adds data_wait
    trainer.add_callback(_log_callback(out / LOG_FILE))
    if process.is_main_process:
        _write_config(options, out, templates, train_rows, len(eval_rows), teacher)
        if options.resume:
            _forget_after(out / LOG_FILE, int(checkpoint.rsplit("-", 1)[1]) if checkpoint else 0)
            print(f"resuming from {checkpoint}" if checkpoint else "no checkpoint yet: starting again")
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out))
    if options.merge and process.is_main_process:
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(out / MERGED)
        processor.save_pretrained(out / MERGED)
    return out


def _forget_after(log: Path, step: int) -> None:
    """Drop the log lines of the steps after ``step``, which the resumed run does again."""
    if log.is_file():
        kept = [line for line in log.read_text(encoding="utf-8").splitlines() if json.loads(line)["step"] <= step]
        log.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def _write_config(options: TrainOptions, out: Path, templates: dict[str, str],
                  train_rows: list | datasets.IterableDataset, eval_count: int,
                  teacher: TeacherReplies | None = None) -> None:
    import peft
    import torch
    import transformers
    import trl

    if options.dataset is None:  # a stream: its settings say what it holds
        exclude = describe_source(options.exclude) if options.exclude else None
        source: dict[str, Any] = {"dataset": "stream", "stream": {
            "style": options.styles[0], "seed": options.seed, "exclude": exclude, "curriculum": options.curriculum}}
    else:
        source = {"dataset": describe_source(options.dataset),
                  "dataset_fingerprint": {style: source_fingerprint(options.dataset, style, options.split)
                                          for style in options.styles}}
    record = {
        "options": options.record(), "crossmath": __version__, "prompt_templates": templates, **source,
        "examples": {"train": len(train_rows) if isinstance(train_rows, list) else "stream", "eval": eval_count},
        **({"teacher": {"run": str(teacher.run.resolve()), "puzzles": len(teacher.replies),
                        "left_out": teacher.left_out}} if teacher else {}),
        "versions": {"transformers": transformers.__version__, "trl": trl.__version__, "peft": peft.__version__,
                     "torch": torch.__version__},
    }
    (out / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
