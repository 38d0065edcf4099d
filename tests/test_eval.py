"""crossmath-eval on tiny random VLMs of four families, offline, on CPU, through the real transformers path."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crossmath.eval import cli
from crossmath.eval.backends.base import BackendError
from crossmath.eval.backends.transformers_backend import TransformersBackend
from crossmath.eval.prompts import DEFAULT_TEMPLATES, Prompt, build_prompt
from crossmath.eval.sources import load_items

if TYPE_CHECKING:
    import torch  # the tests that need torch are marked torch and import it themselves


def run_eval(*args: str) -> int:
    return cli.main(["run", "--no-progress", "--max-new-tokens", "6", *args])


def predictions(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]


@pytest.mark.torch
def test_all_modalities_and_styles_in_one_call(tiny_models, eval_dataset, tmp_path, capsys):
    code = run_eval("--model", tiny_models["qwen"], "--dataset", str(eval_dataset), "--style", "original,altstyle",
                    "--batch-size", "4", "--num-samples", "2", "--temperature", "0.8", "--output", str(tmp_path))
    assert code == 0
    printed = capsys.readouterr().out
    assert "| model | style | text | image | hybrid | image - text | hybrid - text |" in printed
    assert "## Style robustness" in printed
    model_dir = tmp_path / "tiny-qwen2-vl"
    for style in ("original", "altstyle"):
        lengths = {}
        for modality in ("text", "image", "hybrid"):
            folder = model_dir / f"{style}-{modality}"
            rows = predictions(folder)
            assert sorted((r["id"], r["sample"]) for r in rows) == [(f"test-{i:05d}", s) for i in range(6)
                                                                   for s in range(2)]
            assert all(set(r) == {"id", "sample", "prompt_tokens", "output", "answer", "correct",
                                  "generated_tokens", "truncated", "seconds"} for r in rows)
            assert all(1 <= r["generated_tokens"] <= 6 for r in rows)
            assert all(r["truncated"] == (r["generated_tokens"] == 6) for r in rows)
            config = json.loads((folder / "config.json").read_text())
            assert config["modality"] == modality and config["backend"]["versions"]["transformers"]
            assert config["dataset_fingerprint"] == json.loads(
                (eval_dataset / "crossmath_build.json").read_text())["fingerprint"]
            metrics = json.loads((folder / "metrics.json").read_text())
            assert metrics["puzzles"] == 6 and metrics["samples"] == 2 and len(metrics["per_sample"]) == 2
            assert "micro accuracy" in (folder / "report.md").read_text()
            lengths[modality] = {r["id"]: r["prompt_tokens"] for r in rows}
        for item in lengths["text"]:
            assert lengths["hybrid"][item] > lengths["text"][item]
            assert lengths["hybrid"][item] > lengths["image"][item]
    assert (model_dir / "report" / "modalities.png").is_file()


def test_prompts_carry_text_image_or_both(eval_dataset):
    item = load_items(str(eval_dataset), "original", "test")[0]
    text = build_prompt(item, "text", "markdown", DEFAULT_TEMPLATES["text"])
    image = build_prompt(item, "image", "markdown", DEFAULT_TEMPLATES["image"])
    hybrid = build_prompt(item, "hybrid", "json", DEFAULT_TEMPLATES["hybrid"])
    assert text.image is None and item.texts["markdown"] in text.messages[0]["content"][-1]["text"]
    assert image.image is not None and item.texts["markdown"] not in image.messages[0]["content"][-1]["text"]
    assert hybrid.image is not None and item.texts["json"] in hybrid.messages[0]["content"][-1]["text"]
    assert [part["type"] for part in hybrid.messages[0]["content"]] == ["image", "text"]
    assert "<answer>" in text.messages[0]["content"][-1]["text"]


FAMILIES = ["qwen", "llava", "gemma3", "idefics3"]


@pytest.mark.torch
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("modality", ["text", "image", "hybrid"])
def test_a_padded_batch_gives_each_row_the_logits_it_has_alone(tiny_models, eval_dataset, family, modality, capfd):
    import torch

    backend = TransformersBackend(tiny_models[family], device_map="none")
    items = load_items(str(eval_dataset), "original", "test")
    prompts = [build_prompt(item, modality, "markdown", DEFAULT_TEMPLATES[modality]) for item in items[:3]]
    with torch.inference_mode():
        batch = backend.encode(prompts)
        if modality != "image":  # image prompts have the same length
            assert (batch["attention_mask"][:, 0] == 0).any(), "the batch should need padding"
        assert (batch["attention_mask"][:, -1] == 1).all(), "padding must be on the left"
        together = backend.model(**batch).logits[:, -1]
        for row, prompt in enumerate(prompts):
            alone = backend.model(**backend.encode([prompt])).logits[:, -1]
            torch.testing.assert_close(together[row:row + 1], alone, atol=1e-4, rtol=1e-4)
    assert "processor_kwargs" not in capfd.readouterr().err  # no processor warning on every batch


@pytest.mark.torch
def test_llava_family_greedy_samples_are_identical(tiny_models, eval_dataset, tmp_path):
    assert run_eval("--model", tiny_models["llava"], "--dataset", str(eval_dataset), "--modality", "image",
                    "--batch-size", "3", "--num-samples", "3", "--output", str(tmp_path)) == 0
    rows = predictions(tmp_path / "tiny-llava" / "original-image")
    by_id: dict[str, set[str]] = {}
    for row in rows:
        by_id.setdefault(row["id"], set()).add(row["output"])
    assert len(rows) == 18 and all(len(outputs) == 1 for outputs in by_id.values())


def make_adapter(model_path: str, folder: Path) -> str:
    """A LoRA adapter with random (non-zero) weights on the language model's attention, never the vision tower."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    base = AutoModelForImageTextToText.from_pretrained(model_path)
    config = LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                        target_modules=r".*(language_model|text_model).*\.(q_proj|v_proj)")
    model = get_peft_model(base, config)
    lora = [name for name, _ in model.named_parameters() if "lora_" in name]
    assert lora and not any("visual" in name or "vision" in name for name in lora)
    model.save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def adapter(tiny_models: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_adapter(tiny_models["qwen"], tmp_path_factory.mktemp("adapter") / "lora")


@pytest.mark.torch
@pytest.mark.parametrize("family", FAMILIES[1:])  # Qwen runs every modality and style with samples above
def test_every_family_runs_batched_with_samples_and_a_lora_adapter(tiny_models, eval_dataset, family, tmp_path):
    import torch

    adapter = make_adapter(tiny_models[family], tmp_path / "lora")
    common = ["--dataset", str(eval_dataset), "--limit", "3", "--batch-size", "2", "--num-samples", "2",
              "--temperature", "0.8"]
    assert run_eval("--model", tiny_models[family], *common, "--output", str(tmp_path / "base")) == 0
    assert run_eval("--model", tiny_models[family], "--adapter", adapter, *common,
                    "--output", str(tmp_path / "tuned")) == 0
    name = Path(tiny_models[family]).name
    for modality in ("text", "image", "hybrid"):
        base = predictions(tmp_path / "base" / name / f"original-{modality}")
        tuned = predictions(next((tmp_path / "tuned").glob(f"{name}+*/original-{modality}")))
        assert sorted((r["id"], r["sample"]) for r in base) == [(f"test-{i:05d}", s) for i in range(3)
                                                               for s in range(2)]
        assert len(tuned) == 6
    item = load_items(str(eval_dataset), "original", "test")[0]
    prompts = [build_prompt(item, "hybrid", "markdown", DEFAULT_TEMPLATES["hybrid"])]
    plain = _last_logits(TransformersBackend(tiny_models[family], device_map="none"), prompts)
    with_lora = _last_logits(TransformersBackend(tiny_models[family], adapter=adapter, device_map="none"), prompts)
    assert not torch.allclose(plain, with_lora, atol=1e-3)


def _last_logits(backend: TransformersBackend, prompts: list[Prompt]) -> torch.Tensor:
    import torch

    with torch.inference_mode():
        return backend.model(**backend.encode(prompts)).logits[:, -1]


@pytest.mark.torch
def test_a_lora_adapter_changes_the_outputs_and_merges_to_the_same_model(tiny_models, eval_dataset, adapter):
    import torch

    item = load_items(str(eval_dataset), "original", "test")[0]
    prompts = [build_prompt(item, "hybrid", "markdown", DEFAULT_TEMPLATES["hybrid"])]
    base = _last_logits(TransformersBackend(tiny_models["qwen"], device_map="none"), prompts)
    tuned = _last_logits(TransformersBackend(tiny_models["qwen"], adapter=adapter, device_map="none"), prompts)
    merged = _last_logits(TransformersBackend(tiny_models["qwen"], adapter=adapter, merge_adapter=True,
                                              device_map="none"), prompts)
    assert not torch.allclose(base, tuned, atol=1e-3)
    torch.testing.assert_close(tuned, merged, atol=1e-4, rtol=1e-4)


@pytest.mark.torch
def test_an_adapter_for_another_base_is_refused(tiny_models, adapter):
    with pytest.raises(BackendError, match=r"was trained on .*tiny-qwen2-vl.*not on"):
        TransformersBackend(tiny_models["llava"], adapter=adapter, device_map="none")


@pytest.mark.torch
def test_adapter_runs_end_to_end(tiny_models, eval_dataset, adapter, tmp_path):
    assert run_eval("--model", tiny_models["qwen"], "--adapter", adapter, "--dataset", str(eval_dataset),
                    "--modality", "text", "--limit", "2", "--batch-size", "1", "--output", str(tmp_path)) == 0
    folder = next((tmp_path).glob("tiny-qwen2-vl+*/original-text"))
    assert json.loads((folder / "config.json").read_text())["adapter"] == adapter
    assert len(predictions(folder)) == 2


@pytest.mark.torch
def test_an_interrupted_run_resumes_without_repeating_anything(tiny_models, eval_dataset, tmp_path, monkeypatch):
    args = ["--model", tiny_models["qwen"], "--dataset", str(eval_dataset), "--modality", "image",
            "--batch-size", "2", "--num-samples", "2", "--temperature", "0.9", "--output", str(tmp_path)]
    real = TransformersBackend.generate
    calls = []

    def stop_on_second_batch(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(TransformersBackend, "generate", stop_on_second_batch)
    assert run_eval(*args) == 130
    folder = tmp_path / "tiny-qwen2-vl" / "original-image"
    first = predictions(folder)
    assert len(first) == 4  # one batch of two puzzles, two samples each
    monkeypatch.setattr(TransformersBackend, "generate", real)
    assert run_eval(*args) == 2  # not without --resume
    assert run_eval(*args, "--resume", "--seed", "1") == 2  # not with other settings
    assert run_eval(*args, "--resume") == 0
    rows = predictions(folder)
    assert len(rows) == 12 and rows[:4] == first
    assert len({(r["id"], r["sample"]) for r in rows}) == 12
    assert json.loads((folder / "metrics.json").read_text())["puzzles"] == 6


@pytest.mark.torch
def test_score_reproduces_a_runs_metrics(tiny_models, eval_dataset, tmp_path, capsys):
    assert run_eval("--model", tiny_models["qwen"], "--dataset", str(eval_dataset), "--modality", "text",
                    "--num-samples", "2", "--temperature", "1.0", "--output", str(tmp_path)) == 0
    folder = tmp_path / "tiny-qwen2-vl" / "original-text"
    capsys.readouterr()
    assert cli.main(["score", "--dataset", str(eval_dataset), "--json", str(folder / "predictions.jsonl")]) == 0
    rescored = json.loads(capsys.readouterr().out)
    assert rescored.pop("unpredicted_puzzles") == 0
    assert rescored == json.loads((folder / "metrics.json").read_text())


def _published_oracle(records: list[dict], lines: list[str]) -> dict:
    """The published scorer's arithmetic, written out plainly: per-run fractions."""
    import re

    def cells(text):
        return [c.strip() for c in text.split("|") if c.strip()]

    def tokens(line):
        line = line.strip()
        m = re.search(r"<answer>(.*?)</answer>", line, flags=re.IGNORECASE | re.DOTALL)
        line = m.group(1).strip() if m else line
        line = re.sub(r"\s+", " ", re.sub(r"[|,\t]+", " ", line)).strip()
        return line.split(" ") if line else []

    records = records[:len(lines)]
    micro = macro = 0.0
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    for record, line in zip(records, lines):
        truth, steps, predicted = cells(record["markdown_answer"]), cells(record["markdown_answer_step"]), tokens(line)
        macro += predicted == truth
        hits = [j < len(predicted) and predicted[j] == t for j, t in enumerate(truth)]
        micro += sum(hits) / len(truth)
        for hit, step in zip(hits, steps):
            level = re.search(r"\d+", step)
            assert level is not None, step
            k = int(level.group())
            name = f"step{k}" if k <= 3 else "step4+"
            total[name] = total.get(name, 0) + 1
            right[name] = right.get(name, 0) + hit
    return {"micro": micro / len(records), "macro": macro / len(records),
            **{name: right[name] / total[name] for name in total}}


def test_published_logs_score_exactly_like_the_published_scorer(eval_dataset, tmp_path, capsys):
    from crossmath.puzzles.records import read_records

    jsonl = eval_dataset / "published" / "data" / "Original" / "testset_hr.jsonl"
    records = read_records(jsonl)
    answers = [" ".join(c.strip() for c in r["markdown_answer"].split("|") if c.strip()) for r in records]
    logs = [
        [f"<answer>{answers[0]}</answer>", answers[1].replace(" ", ","), "", "garbage", answers[4], "1 2 3"],
        [answers[0][:-1], f"x <answer>{answers[1]}</answer>", answers[2], "|".join(answers[3].split()), "", ""],
    ]
    paths = []
    for i, lines in enumerate(logs, start=1):
        path = tmp_path / f"run_{i}.log"
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    assert cli.main(["score", "--dataset", str(jsonl), "--json", *paths]) == 0
    ours = json.loads(capsys.readouterr().out)
    oracles = [_published_oracle(records, lines) for lines in logs]
    for name in ("micro", "macro"):
        assert ours[name]["mean"] == pytest.approx(100 * statistics.mean(o[name] for o in oracles), abs=1e-9)
        assert ours[name]["std"] == pytest.approx(100 * statistics.stdev(o[name] for o in oracles), abs=1e-9)
    levels = {name for name in oracles[0] if name.startswith("step")}
    assert {"step1", "step2"} <= levels and all(o.keys() == oracles[0].keys() for o in oracles)
    assert {step for step, value in ours["steps"].items() if value["mean"] is not None} == levels
    for step in levels:
        assert ours["steps"][step]["mean"] == pytest.approx(100 * statistics.mean(o[step] for o in oracles))
        assert ours["steps"][step]["std"] == pytest.approx(100 * statistics.stdev(o[step] for o in oracles))
    # a shorter log scores only the puzzles it answers, as the published scorer does
    short = tmp_path / "short.log"
    short.write_text(f"<answer>{answers[0]}</answer>\n{answers[1]}\n")
    assert cli.main(["score", "--dataset", str(jsonl), "--json", str(short)]) == 0
    assert json.loads(capsys.readouterr().out)["puzzles"] == 2


@pytest.mark.torch
def test_report_command(tiny_models, eval_dataset, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert run_eval("--model", tiny_models["llava"], "--dataset", str(eval_dataset), "--output", str(runs)) == 0
    folders = sorted(str(p) for p in (runs / "tiny-llava").glob("original-*"))
    capsys.readouterr()
    assert cli.main(["report", *folders, "--out", str(tmp_path / "report"), "--metric", "macro"]) == 0
    text = capsys.readouterr().out
    assert "## Modality gap (macro accuracy, %)" in text and "p=" in text
    assert (tmp_path / "report" / "modalities.svg").is_file() and (tmp_path / "report" / "report.md").is_file()


@pytest.mark.torch  # its first case goes through loading a model
def test_bad_input_is_one_error_line(eval_dataset, tmp_path, capsys):
    def error_lines(*args: str) -> list[str]:
        capsys.readouterr()
        assert cli.main(["run", *args]) == 2  # an exception escaping main would be a traceback at the prompt
        return capsys.readouterr().err.strip().splitlines()

    lines = error_lines("--model", str(tmp_path / "none"), "--dataset", str(eval_dataset), "--output", str(tmp_path))
    assert lines[-1].startswith("crossmath-eval: error: cannot load model")
    assert "no such file" in error_lines("--model", "x", "--dataset", str(tmp_path / "missing.jsonl"))[-1]
    published = eval_dataset / "published" / "data" / "Original" / "testset_hr.jsonl"
    assert "carries no json text (it has markdown)" in error_lines("--model", "x", "--dataset", str(published),
                                                                   "--text-format", "json")[-1]


@pytest.mark.torch
def test_a_missing_gpu_or_attention_kernel_is_one_error_line(tiny_models, eval_dataset, tmp_path, capsys):
    import importlib.util

    import torch

    cases = [] if torch.cuda.is_available() else [["--device-map", "cuda"]]
    if importlib.util.find_spec("flash_attn") is None or not torch.cuda.is_available():
        cases.append(["--attn-implementation", "flash_attention_2"])
    for options in cases:
        capsys.readouterr()
        assert run_eval("--model", tiny_models["qwen"], "--dataset", str(eval_dataset), "--modality", "text",
                        "--limit", "1", "--output", str(tmp_path), *options) == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith("crossmath-eval: error: cannot load model"), error


def test_the_evaluator_never_loads_the_generator(eval_dataset):
    code = ("import sys; from crossmath.eval import cli, runner, scoring, report; "
            "from crossmath.eval.sources import load_items; "
            f"load_items({str(eval_dataset / 'published' / 'data' / 'Original' / 'testset_hr.jsonl')!r}, "
            "'original', 'test'); print('crossmath.puzzles.generator' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr[-400:]


@pytest.mark.torch
def test_a_published_jsonl_file_is_a_dataset_too(tiny_models, eval_dataset, tmp_path):
    published = eval_dataset / "published" / "data" / "Altstyle" / "testset_altstyle.jsonl"
    assert run_eval("--model", tiny_models["llava"], "--dataset", str(published), "--modality", "image,hybrid",
                    "--limit", "3", "--batch-size", "2", "--output", str(tmp_path)) == 0
    rows = predictions(tmp_path / "tiny-llava" / "original-hybrid")
    assert [r["id"] for r in rows] == ["math_puzzle_0001", "math_puzzle_0002", "math_puzzle_0003"]
    items = load_items(str(published), "original", "test")
    built = load_items(str(eval_dataset), "altstyle", "test")
    assert [i.answer for i in items] == [i.answer for i in built]
    assert [i.steps for i in items] == [i.steps for i in built]
    assert items[0].image().tobytes() == built[0].image().tobytes()
