"""Adapters for RL libraries (issue 20, item 5), each through the real library's own entry point."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from crossmath.dataset.items import keys_of_test_split
from crossmath.dataset.streaming import StreamRows

ROOT = Path(__file__).parents[1]


def test_importing_crossmath_imports_no_adapter():
    code = ("import sys, crossmath, crossmath.dataset; "
            "assert not {'reasoning_gym', 'verifiers', 'crossmath.integrations.reasoning_gym'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_reasoning_gym_creates_crossmath_through_its_registry():
    reasoning_gym = pytest.importorskip("reasoning_gym")
    import crossmath.integrations.reasoning_gym as adapter

    data = reasoning_gym.create_dataset("crossmath", seed=3, size=4, difficulty="hard", equations=[6, 9])
    entries = list(data)
    assert len(entries) == 4 and len({e["question"] for e in entries}) == 4
    for index, entry in enumerate(entries):
        assert entry["question"] == reasoning_gym.create_dataset("crossmath", seed=3, size=4, difficulty="hard",
                                                                 equations=[6, 9])[index]["question"]
        assert entry["metadata"]["difficulty"]["preset"] == "hard"
        assert 6 <= entry["metadata"]["difficulty"]["equations"] <= 9
        assert entry["metadata"]["puzzle"] in entry["question"]
        assert data.score_answer(entry["answer"], entry) == 1.0
        assert data.score_answer(f"<answer>{entry['answer']}</answer>", entry) == 1.0
        wrong = " ".join(str(int(v) + 1) for v in entry["answer"].split())
        assert data.score_answer(wrong, entry) == 0.0 and data.score_answer(None, entry) == 0.0
        half = entry["answer"].split()
        half[0] = str(int(half[0]) + 1)
        assert 0 < data.score_answer(" ".join(half), entry) < 1
    settings = data.config.settings(3)
    rows = StreamRows(settings, "original", keys_of_test_split(settings))
    assert entries[2]["answer"] == rows(2)["answer"]  # item i is train row i of the stream with these settings
    assert reasoning_gym.get_score_answer_fn(adapter.NAME)("1 2", {"answer": "1 3"}) == 0.5
    with pytest.raises(AssertionError, match="difficulty"):
        reasoning_gym.create_dataset("crossmath", difficulty="brutal")


@pytest.mark.parametrize("modality", ["text", "image", "hybrid"])
def test_verifiers_loads_a_single_turn_environment_with_crossmaths_rubric(modality):
    """Needs verifiers' classic API (0.1-0.3); it cannot share an environment with lmms-eval (antlr4 pins), so the
    main suite skips it and CI runs this file in a venv with ``crossmath[verifiers]`` (README, Testing)."""
    import base64

    import datasets

    vf = pytest.importorskip("verifiers")
    if not hasattr(vf, "SingleTurnEnv"):
        pytest.skip(f"verifiers {vf.__version__} has no classic SingleTurnEnv")
    import crossmath

    env = vf.load_environment("crossmath.integrations.verifiers", size=3, modality=modality, seed=4)
    assert isinstance(env, vf.SingleTurnEnv) and len(env.dataset) == 3
    rows = list(islice(crossmath.stream(seed=4).cast_column("image", datasets.Image(decode=False)), 3))
    for example, row in zip(env.dataset, rows):
        assert example["answer"] == row["answer"] and example["info"]["id"] == row["id"]
        parts = example["prompt"][0]["content"]
        urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
        texts = [p["text"] for p in parts if p["type"] == "text"]
        assert len(urls) == (modality != "text") and len(texts) == 1
        assert (row["markdown_table"] in texts[0]) == (modality != "image")
        for url in urls:
            assert url.startswith("data:image/png;base64,")
            assert base64.b64decode(url.split(",", 1)[1]) == row["image"]["bytes"]
        assert scored(vf, env, example, f"<answer>{example['answer']}</answer>") == 1.0
        wrong = " ".join(str(int(v) + 1) for v in example["answer"].split())
        assert scored(vf, env, example, f"<answer>{wrong}</answer>") < 1.0


def scored(vf: Any, env: Any, example: dict, reply: str) -> float:
    """The correctness the environment's own rubric gives ``reply`` to ``example``."""
    state = vf.State(input={"prompt": example["prompt"], "answer": example["answer"], "info": example["info"],
                            "example_id": 0})
    state["completion"] = [{"role": "assistant", "content": reply}]
    asyncio.run(env.rubric.score_rollout(state))
    return state["metrics"]["correctness"]
