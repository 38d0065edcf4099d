"""Every model family the README lists, through the real transformers path on tiny random models: the modalities
each takes (a family that cannot take one is refused for it in one line, before anything is generated), and greedy
replies that do not depend on the batch they were generated in."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossmath.eval import cli
from crossmath.eval.backends.base import Sampling
from crossmath.eval.backends.transformers_backend import TransformersBackend
from crossmath.eval.prompts import DEFAULT_TEMPLATES, build_prompt
from crossmath.eval.sources import load_items

MODALITIES = {"qwen": ("text", "image", "hybrid"), "qwen2_5": ("text", "image", "hybrid"),
              "qwen3_5": ("text", "image", "hybrid"),
              "llava": ("text", "image", "hybrid"), "gemma3": ("text", "image", "hybrid"),
              "idefics3": ("text", "image", "hybrid"), "paligemma": ("image", "hybrid")}
"""The modalities each family takes (the README's table)."""


@pytest.mark.torch
def test_a_family_that_cannot_take_a_modality_is_refused_for_it_in_one_line_and_the_rest_runs(
        tiny_models, eval_dataset, tmp_path, capsys):
    model = tiny_models["paligemma"]
    common = ["run", "--no-progress", "--max-new-tokens", "4", "--model", model, "--dataset", str(eval_dataset),
              "--batch-size", "2"]
    assert cli.main([*common, "--output", str(tmp_path)]) == 1
    errors = capsys.readouterr().err
    assert [line for line in errors.splitlines() if model in line] == [
        f"crossmath-eval: {model} cannot take text prompts, so no text run: `images` are expected as arguments to "
        "a `PaliGemmaProcessor` instance."]
    assert "Traceback" not in errors
    runs = tmp_path / "tiny-paligemma"
    assert sorted(path.name for path in runs.iterdir()) == ["original-hybrid", "original-image", "report"]
    for modality in ("image", "hybrid"):
        assert len((runs / f"original-{modality}" / "predictions.jsonl").read_text().splitlines()) == 6
    assert cli.main([*common, "--modality", "text", "--output", str(tmp_path / "text")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"crossmath-eval: error: {model} takes none of the " \
                                                       "modalities asked (text)"
    assert not (tmp_path / "text").exists()


def sharpened(model: str, out: Path, factor: float = 10.0) -> str:
    """The model with its weight matrices (not embeddings or norms) scaled up, so that its greedy replies depend on
    the prompt: at their initial scale, tiny random models say the same thing to every prompt, and a comparison of
    replies could not fail."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    loaded = AutoModelForImageTextToText.from_pretrained(model, dtype=torch.float32)
    with torch.no_grad():
        for name, weight in loaded.named_parameters():
            if weight.dim() >= 2 and "embed" not in name and "norm" not in name:
                weight.mul_(factor)
    loaded.save_pretrained(out)
    AutoProcessor.from_pretrained(model).save_pretrained(out)
    return str(out)


@pytest.mark.torch
@pytest.mark.parametrize("family", list(MODALITIES))
def test_greedy_replies_are_the_same_at_batch_1_and_batch_4(tiny_models, eval_dataset, family, tmp_path):
    backend = TransformersBackend(sharpened(tiny_models[family], tmp_path / family), device_map="none",
                                  dtype="float32")
    items = load_items(str(eval_dataset), "original", "test")[:4]
    sampling = Sampling(max_new_tokens=6)
    replies: set[str] = set()
    for modality in MODALITIES[family]:
        prompts = [build_prompt(item, modality, "markdown", DEFAULT_TEMPLATES[modality]) for item in items]
        together = backend.generate(prompts, sampling, seed=0)
        alone = [backend.generate([prompt], sampling, seed=0)[0] for prompt in prompts]
        assert together == alone, modality  # prompt lengths, reply texts, token counts, truncation
        replies.update(generation.text for _, generations in together for generation in generations)
    assert len(replies) > 2, replies  # the replies differ by prompt: the comparison could fail
