"""crossmath-train on the endless stream (issue 20, items 2-4): GRPO and SFT with --stream, the curriculum in a real
run and across --resume, vLLM options passed to TRL, several processes through accelerate, and bad requests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from itertools import islice
from pathlib import Path
from typing import Any

import datasets
import pytest
import torch

import crossmath
from crossmath.train import cli
from crossmath.train.data_wait import data_wait_callback
from crossmath.train.options import LOG_FILE, TrainOptions
from crossmath.train.pacing import STATE_FILE
from crossmath.train.training import grpo_arguments

torch.set_num_threads(1)
ROOT = Path(__file__).parents[1]
GRPO = ["--method", "grpo", "--num-generations", "2", "--max-completion-length", "6"]


@pytest.fixture(scope="module")
def short_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("prompt") / "prompt.txt"
    path.write_text("Fill in the missing numbers. {puzzle}")
    return str(path)


def train(*args: str) -> int:
    return cli.main(["--no-progress", "--learning-rate", "2e-2", "--batch-size", "2", *args])


def log_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines()]


def test_grpo_streams_with_a_curriculum_that_is_logged_and_resumed(tiny_models, short_template, tmp_path, capsys):
    out = tmp_path / "grpo"
    common = ["--model", tiny_models["qwen"], "--stream", "--out", str(out), "--prompt-file", short_template, *GRPO,
              "--curriculum", "difficulty=easy,medium,hard", "--curriculum-threshold", "0", "--curriculum-window",
              "1", "--save-steps", "2"]
    assert train(*common, "--max-steps", "3") == 0
    steps = [(line["step"], line["curriculum_level"]) for line in log_lines(out) if "loss" in line]
    assert steps == [(1, 0), (2, 1), (3, 2)]  # a threshold of 0 is passed by every window: one level up per step
    assert json.loads((out / "checkpoint-2" / STATE_FILE).read_text())["level"] == 2
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == tiny_models["qwen"]
    recorded = json.loads((out / "crossmath_train.json").read_text())
    assert recorded["dataset"] == "stream" and recorded["examples"]["train"] == "stream"

    shutil.rmtree(out / "checkpoint-3")  # stopped after step 3 was logged, before it was saved: back to step 2
    (out / "checkpoint-2" / STATE_FILE).write_text(json.dumps({"level": 1, "recent": []}))
    assert train(*common, "--max-steps", "4", "--resume") == 0
    assert f"resuming from {out / 'checkpoint-2'}" in capsys.readouterr().out
    steps = [(line["step"], line["curriculum_level"]) for line in log_lines(out) if "loss" in line]
    assert steps == [(1, 0), (2, 1), (3, 1), (4, 2)]  # continued at the level the checkpoint holds


def test_grpo_trains_reading_on_the_stream_with_a_curriculum_on_the_read_reward(tiny_models, tmp_path):
    out = tmp_path / "reader"
    template = tmp_path / "transcribe.txt"
    template.write_text("Copy the grid. {answer_format}")
    assert train("--model", tiny_models["qwen"], "--stream", "--target", "transcribe", "--text-format", "csv",
                 "--out", str(out), "--prompt-file", str(template), *GRPO, "--max-steps", "2",
                 "--curriculum", "difficulty=easy,medium", "--curriculum-threshold", "0", "--curriculum-window", "1",
                 "--save-steps", "10") == 0
    lines = [line for line in log_lines(out) if "loss" in line]
    assert [(line["step"], line["curriculum_level"]) for line in lines] == [(1, 0), (2, 1)]
    assert all(0 <= line["rewards/read_reward/mean"] <= 1 and not any("correctness" in key for key in line)
               for line in lines)
    recorded = json.loads((out / "crossmath_train.json").read_text())["options"]
    assert (recorded["method"], recorded["target"], recorded["modality"], recorded["rewards"]) == \
        ("grpo", "transcribe", "transcribe", ["read"])
    assert (out / "adapter_model.safetensors").is_file()


def test_sft_streams_mixed_modalities(tiny_models, short_template, tmp_path):
    out = tmp_path / "sft"
    assert train("--model", tiny_models["llava"], "--stream", "--modality", "mixed", "--out", str(out),
                 "--prompt-file", short_template, "--max-steps", "2", "--save-steps", "10") == 0
    lines = [line for line in log_lines(out) if "loss" in line]
    assert [line["step"] for line in lines] == [1, 2]
    assert all(line["data_wait"] >= 0 for line in lines)  # SFT logs no step_time to compare it with
    assert (out / "adapter_model.safetensors").is_file()


def test_data_wait_counts_the_gaps_before_steps_and_not_logging_or_saving():
    times = iter([0, 2, 5, 5.5, 9, 12, 12.5, 20, 30, 31, 40, 41])  # the clock at each callback below, in order
    wait = data_wait_callback(clock=lambda: next(times))
    unused: Any = None  # the trainer's arguments, state and control, which the callback does not read
    logs: list[dict] = [{}, {}, {"train_runtime": 1.0}]
    wait.on_train_begin(unused, unused, unused)  # 0: training starts to fetch its first batches
    wait.on_step_begin(unused, unused, unused)  # 2: waited 2
    wait.on_step_end(unused, unused, unused)  # 5
    wait.on_step_begin(unused, unused, unused)  # 5.5: waited 0.5
    wait.on_step_end(unused, unused, unused)  # 9
    wait.on_log(unused, unused, unused, logs=logs[0])  # (2 + 0.5) / 2; the log is written until 12
    wait.on_step_begin(unused, unused, unused)  # 12.5: waited 0.5
    wait.on_step_end(unused, unused, unused)  # 20
    wait.on_save(unused, unused, unused)  # a checkpoint is written until 30
    wait.on_step_begin(unused, unused, unused)  # 31: waited 1
    wait.on_log(unused, unused, unused, logs=logs[1])  # (0.5 + 1) / 2, at 40
    wait.on_log(unused, unused, unused, logs=logs[2])  # the summary after training: no step since, no figure
    assert logs == [{"data_wait": 1.25}, {"data_wait": 0.75}, {"train_runtime": 1.0}]


def test_accelerate_gives_each_process_its_own_shard_of_the_stream():
    from accelerate.data_loader import prepare_data_loader

    data = crossmath.stream(seed=2).select_columns(["id"])
    seen = []
    for rank in range(2):
        loader = prepare_data_loader(torch.utils.data.DataLoader(data, batch_size=2), num_processes=2,
                                     process_index=rank, put_on_device=False, dispatch_batches=False)
        seen.append([i for batch in islice(loader, 3) for i in batch["id"]])
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == [f"train-{i:05d}" for i in range(12)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("data", [["--stream", *GRPO], ["--dataset", "BUILT"]], ids=["grpo-stream", "sft-built"])
def test_two_processes_train_and_save_one_adapter(tiny_models, short_template, tmp_path, data, eval_dataset):
    """``accelerate launch`` with two CPU processes (torchrun underneath, gloo): one adapter, one log, one line."""
    out = tmp_path / "adapter"
    data = [str(eval_dataset) if arg == "BUILT" else arg for arg in data]
    split = ["--split", "test", "--allow-test"] if "--dataset" in data else []
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
               str(free_port()), "-m", "crossmath.train.cli", "--no-progress", "--batch-size", "2", "--model",
               tiny_models["qwen"], *data, *split, "--out", str(out), "--prompt-file", short_template,
               "--max-steps", "2", "--save-steps", "10"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote the adapter") == 1
    assert [line["step"] for line in log_lines(out) if "loss" in line] == [1, 2]  # the main process's log only
    assert (out / "adapter_model.safetensors").is_file() and (out / "crossmath_train.json").is_file()


def test_vllm_options_pass_through_to_trls_grpo_config(tmp_path):
    from trl import GRPOConfig

    options = TrainOptions(model="m", dataset=None, out=str(tmp_path), method="grpo", stream=True, use_vllm=True,
                           vllm_mode="server", vllm_server_base_url="http://trainer-vllm:8000")
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, max_steps=1, **grpo_arguments(options))
    assert (config.use_vllm, config.vllm_mode, config.vllm_server_base_url) == (True, "server",
                                                                                 "http://trainer-vllm:8000")
    assert config.shuffle_dataset is False  # a stream is read in order: no shuffle buffer ahead of the curriculum
    colocated = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, **grpo_arguments(
        TrainOptions(model="m", dataset="d", out=str(tmp_path), method="grpo", use_vllm=True)))
    assert colocated.use_vllm and colocated.vllm_mode == "colocate" and colocated.shuffle_dataset


@pytest.mark.parametrize("args,message", [
    (["--stream"], "--stream never ends: give --max-steps N"),
    (["--stream", "--max-steps", "2", "--curriculum", "colour=1,2", *GRPO],
     "unknown curriculum factor 'colour'; choose one of difficulty, depth, blanks"),
    (["--stream", "--max-steps", "2", "--curriculum", "depth=1,2"], "--curriculum follows the correctness reward"),
    (["--stream", "--max-steps", "2", "--use-vllm", *GRPO], "--use-vllm needs vLLM, which is not installed"),
    (["--stream", "--max-steps", "2", "--exclude", "NOT_A_BUILD"], "not a crossmath build"),
    (["--stream", "--max-steps", "2", "--dataset", "d"], "--stream makes its own puzzles; drop --dataset"),
    (["--dataset", "d", "--curriculum", "depth=1,2"], "--curriculum applies to --stream"),
    ([], "name the training data: --dataset (a crossmath build) or --stream"),
    (["--stream", "--max-steps", "2", "--style", "original,beige"], "--stream takes one --style"),
    (["--stream", "--max-steps", "2", "--target", "transcribe", "--rewards", "read,correctness", *GRPO],
     "--rewards correctness scores an <answer>, and --target transcribe asks for a <grid>: use --rewards read"),
    (["--stream", "--max-steps", "2", "--target", "transcribe", "--rewards", "format,consistency", *GRPO],
     "--rewards format,consistency score an <answer>"),
    (["--stream", "--max-steps", "2", "--rewards", "correctness,read", *GRPO],
     "--rewards read scores a <grid> transcription: use it with --target transcribe"),
    (["--stream", "--max-steps", "2", "--target", "transcribe", "--curriculum", "depth=1,2"],
     "--curriculum follows the read reward: use --method grpo with read among --rewards"),
])
def test_bad_stream_requests_are_one_line_before_any_model_loads(args, message, tmp_path, capsys):
    args = [str(tmp_path) if arg == "NOT_A_BUILD" else arg for arg in args]
    assert cli.main(["--model", "no-such-model", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name,kind,stage", [("accelerate_multi_gpu", "MULTI_GPU", None),
                                             ("deepspeed_zero2", "DEEPSPEED", 2), ("deepspeed_zero3", "DEEPSPEED", 3)])
def test_the_shipped_launch_configs_load_in_accelerate(name, kind, stage):
    from accelerate.commands.config.config_args import ClusterConfig

    config = ClusterConfig.from_yaml_file(str(ROOT / "examples" / f"{name}.yaml"))
    assert config.distributed_type.name == kind and config.deepspeed_config.get("zero_stage") == stage


def test_text_prompts_stream_without_drawing_images(tmp_path):
    """Text-modality training never shows the image, so its stream skips drawing it; the prompts are the same."""
    from crossmath.train.streamed import puzzle_stream, row_item

    def first(modality: str) -> dict:
        options = TrainOptions(model="m", dataset=None, out=str(tmp_path), stream=True, modality=modality)
        return next(iter(puzzle_stream(options, None).cast_column("image", datasets.Image(decode=False))))

    text, image = first("text"), first("image")
    assert text["image"] is None and image["image"]["bytes"].startswith(b"\x89PNG")
    assert text == {**image, "image": None}
    with pytest.raises(crossmath.CrossmathError, match="train-00000 comes from a text-only stream"):
        row_item(text).load_file()
