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
            "assert not {'reasoning_gym', 'verifiers', 'crossmath.integrations.reasoning_gym', 'crossmath_verifiers'}"
            " & set(sys.modules)")
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


def installed_verifiers(api: str) -> Any:
    """verifiers, if it is installed with ``api`` ("classic": 0.1 to 0.3, "v1": 0.4 on), else skip. Needs its own
    venv: verifiers cannot share one with lmms-eval (antlr4 pins), so the main suite skips these tests and CI runs
    this file in a venv with each of verifiers 0.3.1 and 0.4.0 (README, Testing)."""
    vf = pytest.importorskip("verifiers")
    from crossmath.integrations.verifiers import classic_api

    used = "classic" if classic_api() else "v1"
    if used != api:
        pytest.skip(f"crossmath builds verifiers {vf.__version__}'s {used} environment, not the {api} one")
    return vf


def stream_rows(size: int, seed: int) -> list[dict]:
    """The stream's first ``size`` rows, images as PNG bytes."""
    import datasets

    import crossmath

    return list(islice(crossmath.stream(seed=seed).cast_column("image", datasets.Image(decode=False)), size))


def check_prompt(messages: list[dict], row: dict, modality: str) -> None:
    """``messages`` are the evaluator's one user message for ``row`` in ``modality``: its grid as text unless
    ``image``, its image as a lossless PNG data URL unless ``text``."""
    import base64

    parts = messages[0]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    texts = [p["text"] for p in parts if p["type"] == "text"]
    assert len(messages) == 1 and len(urls) == (modality != "text") and len(texts) == 1
    assert (row["markdown_table"] in texts[0]) == (modality != "image")
    for url in urls:
        assert url.startswith("data:image/png;base64,")
        assert base64.b64decode(url.split(",", 1)[1]) == row["image"]["bytes"]


def wrong(answer: str) -> str:
    """``answer`` with every blank off by one."""
    return " ".join(str(int(v) + 1) for v in answer.split())


@pytest.mark.parametrize("modality", ["text", "image", "hybrid"])
def test_verifiers_classic_loads_a_single_turn_environment_with_crossmaths_rubric(modality):
    vf = installed_verifiers("classic")
    env = vf.load_environment("crossmath.integrations.verifiers", size=3, modality=modality, seed=4,
                              weights=(1.0, 0.5, 0.0))
    assert isinstance(env, vf.SingleTurnEnv) and len(env.dataset) == 3
    for example, row in zip(env.dataset, stream_rows(3, 4)):
        assert example["answer"] == row["answer"] and example["info"]["id"] == row["id"]
        check_prompt(example["prompt"], row, modality)
        right = classic_scored(vf, env, example, f"<answer>{example['answer']}</answer>")
        assert right["metrics"]["correctness"] == 1.0 and right["reward"] == 1.5
        assert classic_scored(vf, env, example, f"<answer>{wrong(example['answer'])}</answer>")["metrics"][
            "correctness"] < 1.0


def classic_scored(vf: Any, env: Any, example: dict, reply: str) -> Any:
    """The state of ``reply`` to ``example``, scored by the environment's own rubric."""
    state = vf.State(input={"prompt": example["prompt"], "answer": example["answer"], "info": example["info"],
                            "example_id": 0})
    state["completion"] = [{"role": "assistant", "content": reply}]
    asyncio.run(env.rubric.score_rollout(state))
    return state


@pytest.mark.parametrize("modality", ["text", "image", "hybrid"])
def test_verifiers_v1_loads_crossmaths_taskset_by_id_with_its_rewards(modality):
    installed_verifiers("v1")
    import verifiers.v1 as vf

    from crossmath.integrations.verifiers import load_environment

    config = vf.resolve_env_config({"taskset": {"id": "crossmath-verifiers", "size": 3, "modality": modality,
                                                "seed": 4, "weights": [1.0, 0.5, 0.0],
                                                "task": {"rewards": {"consistency": {"weight": 0.25}}}}})
    env = vf.load_environment(config)
    assert isinstance(env, vf.SingleAgentEnv) and type(load_environment(size=1)) is type(env)
    assert env.config.agent_harnesses()["agent"].id == "crossmath-verifiers"  # the chat harness it exports
    tasks = list(env.taskset)
    assert len(tasks) == 3
    for task, row in zip(tasks, stream_rows(3, 4)):
        assert task.data.answer == row["answer"] and task.data.id == row["id"]
        check_prompt([message.model_dump() for message in task.data.prompt], row, modality)
        right = v1_scored(vf, task, f"<answer>{task.data.answer}</answer>")
        assert right.rewards["correctness"].score == 1.0 and right.reward == 1.75  # 1 + 0.5 + 0.25 (plugged)
        assert v1_scored(vf, task, f"<answer>{wrong(task.data.answer)}</answer>").rewards["correctness"].score < 1


def v1_scored(vf: Any, task: Any, reply: str) -> Any:
    """The trace of ``reply`` to ``task``, scored by the task's own rewards (as a rollout or vf-replay scores)."""
    prompt = [vf.MessageNode(message=message) for message in task.data.prompt]
    answer = vf.MessageNode(parent=len(prompt) - 1, message=vf.AssistantMessage(content=reply), sampled=True)
    trace = vf.Trace(task=vf.TraceTask(type=type(task).__name__, data=task.data),
                     agent=vf.AgentInfo(config=vf.AgentConfig()), nodes=[*prompt, answer])
    asyncio.run(task.score(trace))
    return trace


@pytest.mark.parametrize("arguments, message", [
    ({"modality": "audio"}, "modality is one of text, image, hybrid"),
    ({"size": 0}, "size is 1 or more, not 0"),
    ({"modality": "image", "text_format": "yaml"}, "text_format is one of markdown, json"),  # was a KeyError
    ({"style": "neon"}, "no config 'neon'"),
    ({"settings": {"bogus": 1}}, "unknown stream settings: bogus"),  # the taskset used to meet it only when iterated
])
def test_verifiers_environment_refuses_bad_arguments_in_one_line(arguments, message):
    pytest.importorskip("verifiers")
    from crossmath.errors import CrossmathError
    from crossmath.integrations.verifiers import classic_api, load_environment

    settings = arguments.get("settings", {})
    with pytest.raises(CrossmathError, match=message):  # settings are keyword arguments here
        load_environment(**settings, **{name: value for name, value in arguments.items() if name != "settings"})
    if not classic_api():  # verifiers 0.4's own loader refuses it as the taskset is made
        import verifiers.v1 as vf

        with pytest.raises(CrossmathError, match=message):
            vf.load_environment(vf.resolve_env_config({"taskset": {"id": "crossmath-verifiers", **arguments}}))
