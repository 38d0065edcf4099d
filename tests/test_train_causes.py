"""Training against each cause of the modality gap: ``--target transcribe`` (reading) and ``--target self-distill
--teacher-run RUN_DIR`` (reasoning under image input, from the model's own correct text-mode replies), with real
TRL SFT on tiny random models and a teacher run made by crossmath-eval against the real answer server."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from crossmath.eval import cli as eval_cli
from crossmath.eval.backends import openai_backend
from crossmath.eval.backends.transformers_backend import TransformersBackend
from crossmath.eval.prompts import DEFAULT_TEMPLATES, TRANSCRIBE, build_prompt
from crossmath.eval.sources import load_items
from crossmath.eval.transcripts import parse_grid, true_grid
from crossmath.testing.answer_server import AnswerServer
from crossmath.train import cli
from crossmath.train.options import TrainOptions

pytestmark = pytest.mark.torch

SHORT = "Fill in the missing numbers. {puzzle}"
WRONG = (1, 4)
"""The train puzzles the planted teacher answers wrongly."""


@pytest.fixture(scope="module")
def teacher(train_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text-mode run of the train split by crossmath-eval against the answer server, planted to answer two
    puzzles wrongly, with a token limit that cuts the reply of the puzzle with the most blanks (the server's reply
    is 5 words and one per blank), and never asked about the last puzzle (``--limit 7``)."""
    items = load_items(str(train_data), "original", "train")
    planted = [replace(item, answer=("1",) * len(item.answer)) if i in WRONG else item for i, item in enumerate(items)]
    blanks = sorted(len(item.answer) for i, item in enumerate(items[:7]) if i not in WRONG)
    assert blanks[-1] > blanks[-2]  # exactly one reply is cut
    out = tmp_path_factory.mktemp("teacher")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openai_backend, "BACKOFF_BASE", 0.1)
        patch.setenv("OPENAI_API_KEY", "sk-test")
        with AnswerServer(planted) as server:
            assert eval_cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                                  "--dataset", str(train_data), "--split", "train", "--modality", "text",
                                  "--limit", "7", "--max-new-tokens", str(5 + blanks[-2]), "--output", str(out),
                                  "--no-progress"]) == 0
    return out / server.model / "original-text"


def learnt_and_prompt(options: TrainOptions, model: str) -> list[tuple[str, list[int]]]:
    """Per training row: the tokens the loss covers (decoded) and the prompt's token ids, from TRL's collator."""
    from crossmath.train.model import load_base
    from crossmath.train.training import examples, make_trainer

    rows, _, _ = examples(options)
    base, processor = load_base(model, dtype="auto", device_map="none", attn_implementation=None,
                                trust_remote_code=False)
    trainer = make_trainer(options, Path(options.out), base, processor, rows, [])
    batch = trainer.data_collator([dict(trainer.train_dataset[i]) for i in range(len(rows))])
    found = []
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        found.append((processor.tokenizer.decode(ids[labels != -100]), ids[(labels == -100) & (mask == 1)].tolist()))
    return found


def test_transcribe_target_learns_the_rows_own_table_under_the_transcription_prompt(tiny_models, train_data, tmp_path):
    model = tiny_models["qwen"]
    options = TrainOptions(model=model, dataset=str(train_data), out=str(tmp_path), modality=TRANSCRIBE,
                           target=TRANSCRIBE, text_format="markdown", limit=4)
    items = load_items(str(train_data), "original", "train", 4)
    evaluator = TransformersBackend(model, device_map="none")
    for item, (learnt, prompt) in zip(items, learnt_and_prompt(options, model), strict=True):
        assert learnt == f"<grid>\n{item.texts['markdown']}\n</grid><|im_end|>\n"
        assert parse_grid(learnt.removesuffix("<|im_end|>\n")) == true_grid(item.texts["markdown"])
        expected = evaluator.encode([build_prompt(item, TRANSCRIBE, "markdown", DEFAULT_TEMPLATES[TRANSCRIBE])])
        assert prompt == expected["input_ids"][0].tolist()


def test_transcribe_training_runs_and_the_adapter_transcribes(tiny_models, train_data, tmp_path, capsys):
    out = tmp_path / "reader"
    assert cli.main(["--no-progress", "--model", tiny_models["qwen"], "--dataset", str(train_data), "--target",
                     "transcribe", "--text-format", "csv", "--max-steps", "2", "--batch-size", "2", "--limit", "4",
                     "--out", str(out)]) == 0
    recorded = json.loads((out / "crossmath_train.json").read_text())
    assert recorded["options"]["modality"] == "transcribe" and recorded["options"]["target"] == "transcribe"
    assert set(recorded["prompt_templates"]) == {"transcribe"} and recorded["examples"]["train"] == 4
    assert eval_cli.main(["run", "--no-progress", "--model", tiny_models["qwen"], "--adapter", str(out),
                          "--dataset", str(train_data), "--modality", "transcribe", "--text-format", "csv",
                          "--limit", "1", "--max-new-tokens", "4", "--device-map", "none", "--output",
                          str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    assert list((tmp_path / "runs").glob("*/original-transcribe/predictions.jsonl"))


def test_self_distill_learns_the_teachers_correct_replies_under_the_image_prompt(tiny_models, train_data, teacher,
                                                                                 tmp_path):
    model = tiny_models["qwen"]
    options = TrainOptions(model=model, dataset=str(train_data), out=str(tmp_path / "o"), modality="image",
                           target="self-distill", teacher_run=str(teacher), prompt_template=SHORT)
    records = {r["id"]: r for r in map(json.loads, (teacher / "predictions.jsonl").read_text().splitlines())}
    items = load_items(str(train_data), "original", "train")
    longest = max(items[:7], key=lambda item: len(item.answer))
    kept = [item for i, item in enumerate(items[:7]) if i not in WRONG and item is not longest]
    assert records[longest.id]["truncated"] and not any(records[item.id]["truncated"] for item in kept)
    evaluator = TransformersBackend(model, device_map="none")
    for item, (learnt, prompt) in zip(kept, learnt_and_prompt(options, model), strict=True):
        assert learnt == records[item.id]["output"] + "<|im_end|>\n"
        assert f"<answer>{' '.join(item.answer)}</answer>" in learnt
        assert prompt == evaluator.encode([build_prompt(item, "image", "markdown", SHORT)])["input_ids"][0].tolist()


def test_self_distill_training_reports_what_it_left_out(tiny_models, train_data, teacher, tmp_path, capsys):
    out = tmp_path / "distilled"
    assert cli.main(["--no-progress", "--model", tiny_models["qwen"], "--dataset", str(train_data), "--target",
                     "self-distill", "--teacher-run", str(teacher), "--modality", "hybrid", "--max-steps", "2",
                     "--batch-size", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    records = [json.loads(line) for line in (teacher / "predictions.jsonl").read_text().splitlines()]
    truncated = sum(r["truncated"] for r in records)  # the planted cut, and a wrong reply it may also cut
    wrong = sum(not r["truncated"] and not all(r["correct"]) for r in records)
    assert truncated >= 1 and wrong >= 1 and wrong + truncated == len(WRONG) + 1
    assert "self-distill: 4 puzzles with a correct teacher reply" in printed
    assert f"left out: {wrong} wrong, {truncated} truncated, 1 not answered" in printed
    recorded = json.loads((out / "crossmath_train.json").read_text())
    assert recorded["teacher"] == {"run": str(teacher.resolve()), "puzzles": 4,
                                   "left_out": {"wrong": wrong, "truncated": truncated, "not answered": 1}}
    assert recorded["examples"]["train"] == 4 and (out / "adapter_config.json").is_file()


def test_bad_training_targets_are_one_line(tiny_models, train_data, teacher, tmp_path, capsys):
    def refused(*args: str) -> str:
        out = tmp_path / "o"
        assert cli.main(["--model", tiny_models["qwen"], "--dataset", str(train_data), *args, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert not out.exists()
        return err

    assert "needs --teacher-run RUN_DIR" in refused("--target", "self-distill", "--modality", "image")
    assert "trains reasoning under image input" in refused("--target", "self-distill", "--teacher-run",
                                                           str(teacher))
    assert "--teacher-run is for --target self-distill" in refused("--teacher-run", str(teacher))
    assert "use it with --modality transcribe" in refused("--target", "transcribe", "--modality", "image")
    assert "use it with --method sft" in refused("--target", "self-distill", "--modality", "image", "--method",
                                                 "grpo", "--teacher-run", str(teacher))
    assert "is not a crossmath-eval run folder" in refused("--target", "self-distill", "--modality", "image",
                                                           "--teacher-run", str(tmp_path))
    assert "answered split 'train', not 'test'" in refused("--target", "self-distill", "--modality", "image",
                                                           "--teacher-run", str(teacher), "--split", "test",
                                                           "--allow-test")
    image_run = tmp_path / "image-run"
    image_run.mkdir()
    config = json.loads((teacher / "config.json").read_text())
    (image_run / "config.json").write_text(json.dumps({**config, "modality": "image"}))
    (image_run / "predictions.jsonl").write_text((teacher / "predictions.jsonl").read_text())
    assert "answered in image mode; self-distillation learns from a text-mode run" in refused(
        "--target", "self-distill", "--modality", "image", "--teacher-run", str(image_run))
    other = tmp_path / "other-data"
    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES

    build(other, BuildSettings(train_size=2, test_size=1, seed=9, styles=(STYLES["original"],), version="test"),
          progress=False)
    assert f"answered {train_data.resolve()}, not {other.resolve()}" in refused(
        "--target", "self-distill", "--modality", "image", "--teacher-run", str(teacher), "--dataset", str(other))
