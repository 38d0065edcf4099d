"""crossmath-train on tiny random VLMs of two families, offline, on CPU, through TRL, peft and the evaluator."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from crossmath.eval import cli as eval_cli
from crossmath.eval.backends.transformers_backend import TransformersBackend
from crossmath.eval.prompts import FORMAT_NAMES, TRANSCRIBE, build_prompt
from crossmath.eval.sources import load_items
from crossmath.eval.transcripts import grid_text, true_grid
from crossmath.puzzles.text import from_markdown
from crossmath.train import cli
from crossmath.train.data import example_rows, modalities_for, templates_for
from crossmath.train.options import LOG_FILE, TrainOptions
from crossmath.train.rewards import consistency_reward, correctness_reward, format_reward, read_reward
from crossmath.train.targets import steps_reply, transcribe_reply

torch.set_num_threads(1)
ROOT = Path(__file__).parents[1]
SHORT_TEMPLATE = "Fill in the missing numbers. {puzzle}"
"""A short prompt (the tiny models' tokenizer spells the default instruction in ~500 tokens) keeps steps cheap."""


@pytest.fixture(scope="module")
def models(tiny_models: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The tiny models with the output scale of a trained model (their random embeddings, which are also the output
    layer, times 20: at the default 0.02 scale no adapter can make any token likely), and a text-only model."""
    from transformers import AutoModelForImageTextToText, AutoProcessor, LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("train-models")
    scaled = {}
    for family, source in tiny_models.items():
        model = AutoModelForImageTextToText.from_pretrained(source)
        with torch.no_grad():
            for weight in {id(w): w for w in (model.get_input_embeddings().weight, model.lm_head.weight)}.values():
                assert isinstance(weight, torch.Tensor)
                weight.mul_(20)
        model.save_pretrained(root / family)
        AutoProcessor.from_pretrained(source).save_pretrained(root / family)
        scaled[family] = str(root / family)
    text_only = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                             num_attention_heads=1, num_key_value_heads=1))
    text_only.save_pretrained(root / "text-only")
    scaled["text-only"] = str(root / "text-only")
    return scaled


@pytest.fixture(scope="module")
def short_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("prompt") / "prompt.txt"
    path.write_text(SHORT_TEMPLATE)
    return str(path)


def train(*args: str) -> int:
    return cli.main(["--no-progress", "--learning-rate", "2e-2", "--batch-size", "2", *args])


def log_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines()]


def losses(out: Path) -> list[float]:
    return [line["loss"] for line in log_lines(out) if "loss" in line]


def outputs(folder: Path) -> list[str]:
    return [json.loads(line)["output"] for line in (folder / "predictions.jsonl").read_text().splitlines()]


def test_sft_halves_the_loss_and_the_adapter_changes_the_evaluators_output(models, train_data, short_template,
                                                                           tmp_path, capsys):
    out = tmp_path / "adapter"
    assert train("--model", models["qwen"], "--dataset", str(train_data), "--modality", "image", "--out", str(out),
                 "--prompt-file", short_template, "--max-steps", "40", "--save-steps", "100") == 0
    curve = losses(out)
    assert len(curve) == 40
    first, last = statistics_of(curve[:3]), statistics_of(curve[-3:])
    assert last < first / 2 and last < math.log(320)  # learnt, not just flattened: below the uniform guess
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == models["qwen"]
    recorded = json.loads((out / "crossmath_train.json").read_text())
    assert recorded["options"]["modality"] == "image" and recorded["prompt_templates"] == {"image": SHORT_TEMPLATE}
    assert recorded["dataset_fingerprint"] and recorded["examples"] == {"train": 8, "eval": 0}

    common = ["run", "--no-progress", "--max-new-tokens", "8", "--dataset", str(train_data), "--model",
              models["qwen"], "--prompt-file", short_template, "--device-map", "none"]
    assert eval_cli.main([*common, "--output", str(tmp_path / "base"), "--modality", "image"]) == 0
    assert eval_cli.main([*common, "--output", str(tmp_path / "tuned"), "--adapter", str(out)]) == 0
    capsys.readouterr()
    tuned = tmp_path / "tuned" / "qwen+adapter"
    assert {path.name for path in tuned.iterdir()} >= {"original-text", "original-image", "original-hybrid"}
    base_outputs = outputs(tmp_path / "base" / "qwen" / "original-image")
    assert outputs(tuned / "original-image") != base_outputs


def statistics_of(values: list[float]) -> float:
    return sum(values) / len(values)


@pytest.mark.parametrize("family,modality", [("llava", "text"), ("llava", "image"), ("qwen", "mixed")])
def test_sft_runs_for_both_families_in_each_modality(models, train_data, short_template, tmp_path, family, modality):
    out = tmp_path / "adapter"
    assert train("--model", models[family], "--dataset", str(train_data), "--modality", modality, "--out", str(out),
                 "--prompt-file", short_template, "--max-steps", "2", "--eval-size", "2", "--save-steps", "2",
                 "--target", "steps", "--merge") == 0
    lines = log_lines(out)
    assert [line["step"] for line in lines if "loss" in line] == [1, 2]
    assert any("eval_loss" in line and "eval_mean_token_accuracy" in line for line in lines)
    assert json.loads((out / "crossmath_train.json").read_text())["examples"] == {"train": 6, "eval": 2}
    merged = TransformersBackend(str(out / "merged"), device_map="none")
    with_adapter = TransformersBackend(models[family], adapter=str(out), device_map="none")
    item = load_items(str(train_data), "original", "test")[0]
    prompt = build_prompt(item, "hybrid", "markdown", SHORT_TEMPLATE)
    inputs = with_adapter.encode([prompt])
    with torch.no_grad():
        torch.testing.assert_close(merged.model(**inputs).logits, with_adapter.model(**inputs).logits,
                                   atol=1e-4, rtol=1e-4)


def test_resume_continues_from_the_last_checkpoint(models, train_data, short_template, tmp_path, capsys):
    out = tmp_path / "adapter"
    common = ["--model", models["qwen"], "--dataset", str(train_data), "--out", str(out), "--prompt-file",
              short_template, "--save-steps", "2"]
    assert train(*common, "--max-steps", "3") == 0
    shutil.rmtree(out / "checkpoint-3")  # as if stopped after step 3 was logged, before it was saved
    assert train(*common, "--max-steps", "4", "--resume") == 0
    assert f"resuming from {out / 'checkpoint-2'}" in capsys.readouterr().out
    assert [line["step"] for line in log_lines(out) if "loss" in line] == [1, 2, 3, 4]
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    assert train(*common, "--max-steps", "4", "--resume", "--lora-r", "4") == 2
    assert "--resume with changed settings (lora_r)" in capsys.readouterr().err


def test_the_loss_covers_the_assistant_reply_only_and_the_prompt_is_the_evaluators(models, train_data,
                                                                                  short_template, tmp_path):
    from crossmath.train.model import load_base
    from crossmath.train.training import examples, make_trainer

    options = TrainOptions(model=models["qwen"], dataset=str(train_data), out=str(tmp_path), modality="mixed",
                           prompt_template=SHORT_TEMPLATE, target="steps", seed=3)
    rows, _, _ = examples(options)
    modalities = modalities_for(len(rows), "mixed", 3)
    assert len(set(modalities)) > 1
    model, processor = load_base(options.model, dtype="auto", device_map="none", attn_implementation=None,
                                 trust_remote_code=False)
    trainer = make_trainer(options, tmp_path, model, processor, rows, [])
    items = load_items(str(train_data), "original", "train")
    evaluator = TransformersBackend(models["qwen"], device_map="none")
    for start in (0, 4):
        batch = trainer.data_collator([dict(trainer.train_dataset[i]) for i in range(start, start + 4)])
        for row, (ids, labels, mask) in enumerate(zip(batch["input_ids"], batch["labels"], batch["attention_mask"])):
            item, modality = items[start + row], modalities[start + row]
            learnt = ids[labels != -100]
            assert processor.tokenizer.decode(learnt) == steps_reply(item) + "<|im_end|>\n"
            prompt_ids = ids[(labels == -100) & (mask == 1)]
            expected = evaluator.encode([build_prompt(item, modality, "markdown", SHORT_TEMPLATE)])["input_ids"][0]
            assert prompt_ids.tolist() == expected.tolist()


def test_steps_target_follows_the_solvers_rounds(train_data):
    items = load_items(str(train_data), "original", "train")
    for item in items:
        puzzle = from_markdown(item.texts["markdown"])
        values = dict(puzzle.values)
        assert puzzle.analysis is not None
        rounds = [", ".join(eq.text(values) for eq in ready) for ready in puzzle.analysis.rounds]
        expected = [f"Step {k}: {line}" for k, line in enumerate(rounds, start=1)]
        assert steps_reply(item).splitlines() == [*expected, f"<answer>{' '.join(item.answer)}</answer>"]
    assert any(len(item.solving_steps) > 1 for item in items)


PUZZLE = "\n".join(["| 3 | + | ? | = | 7 |", "| × |   |   |   | - |", "| ? |   |   |   | 5 |", "| = |   |   |   | = |",
                    "| 6 |   |   |   | 2 |"])
"""3 + 4 = 7 across, 3 × 2 = 6 and 7 - 5 = 2 down; the blanks are 4 and 2."""


def test_reward_functions_score_known_replies_exactly():
    replies = ["<answer>4 2</answer>", "I think <answer>4 9</answer>", "<answer>4</answer>",
               [{"role": "assistant", "content": "<answer>5 2</answer>"}], "no answer", "<answer>four 2</answer>"]
    answers = ["4 2"] * len(replies)
    assert correctness_reward(replies, answer=answers) == [1.0, 0.5, 0.5, 0.5, 0.0, 0.5]
    assert format_reward(replies, answer=answers) == [1.0, 1.0, 0.5, 1.0, 0.0, 0.0]
    assert consistency_reward(replies, puzzle=[PUZZLE] * len(replies)) == [1.0, 2 / 3, 2 / 3, 2 / 3, 1 / 3, 2 / 3]


def test_read_reward_is_the_share_of_cells_read_right():
    grid = f"<grid>\n{PUZZLE}\n</grid>"
    one_wrong = grid.replace("| 6 |", "| 8 |")
    chat = [{"role": "assistant", "content": [{"type": "text", "text": f"I read:\n{grid}"}]}]
    replies = [grid, one_wrong, "no grid here", chat, "<grid>\n| a | b |\n</grid>"]
    scores = read_reward(replies, puzzle=[PUZZLE] * len(replies))
    assert scores == [1.0, 12 / 13, 0.0, 1.0, 0.0]  # 13 non-empty cells
    as_csv = f"<grid>\n{grid_text(true_grid(PUZZLE), 'csv')}\n</grid>"
    assert read_reward([as_csv, as_csv], puzzle=[PUZZLE] * 2, text_format=["csv", "markdown"]) == [1.0, 0.0]


@pytest.mark.parametrize("text_format", sorted(FORMAT_NAMES))
def test_grpo_rows_score_their_own_transcription_as_read_perfectly(train_data, text_format):
    items = load_items(str(train_data), "original", "train", 3)
    rows = example_rows(items, [TRANSCRIBE] * len(items), templates=templates_for(TRANSCRIBE, None),
                        text_format=text_format, target=None)
    columns = {name: [row[name] for row in rows] for name in rows[0] if name not in ("prompt", "images")}
    replies = [transcribe_reply(item, text_format) for item in items]
    assert read_reward(replies, **columns) == [1.0] * len(items)
    assert correctness_reward(replies, **columns) == [0.0] * len(items)


def test_grpo_runs_a_few_steps(models, train_data, short_template, tmp_path):
    out = tmp_path / "grpo"
    assert train("--method", "grpo", "--model", models["qwen"], "--dataset", str(train_data), "--out", str(out),
                 "--modality", "image",
                 "--prompt-file", short_template, "--max-steps", "2", "--num-generations", "2",
                 "--max-completion-length", "6", "--rewards", "correctness,format,consistency") == 0
    lines = [line for line in log_lines(out) if "loss" in line]
    assert [line["step"] for line in lines] == [1, 2]
    assert all("rewards/correctness_reward/mean" in line and "rewards/consistency_reward/mean" in line
               for line in lines)
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == models["qwen"]


def test_mixed_modalities_are_drawn_from_the_seed():
    assert modalities_for(30, "mixed", 1) == modalities_for(30, "mixed", 1) != modalities_for(30, "mixed", 2)
    assert set(modalities_for(30, "mixed", 1)) == {"text", "image", "hybrid"}


def test_bad_requests_are_one_line(models, train_data, tmp_path, capsys):
    def refused(*args: str) -> str:
        assert cli.main([*args, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        return err

    data = ["--dataset", str(train_data)]
    assert "is a text-only model (LlamaForCausalLM) and cannot read the images that --modality image needs" in \
        refused("--model", models["text-only"], *data, "--modality", "image")
    assert "could not be evaluated" in refused("--model", models["text-only"], *data)
    assert "multiple of --num-generations" in refused("--model", models["qwen"], *data, "--method", "grpo",
                                                      "--batch-size", "3")
    assert not (tmp_path / "o").exists()


def test_the_test_split_is_refused_without_allow_test(train_data, tmp_path):
    argv = ["--model", "any", "--dataset", str(train_data), "--split", "test", "--out", str(tmp_path / "o")]
    code = ("import sys; from crossmath.train.cli import main; status = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch was imported to refuse a request'; sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("crossmath-train: error: refusing to train on the test split (it would leak into the "
                             "evaluation); use --split train, or --allow-test if you mean it\n")
