"""Adapters for RL libraries (issue 20, item 5), each through the real library's own entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
