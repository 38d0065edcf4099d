"""Hand-made run folders for report tests: each blank's correctness chosen by the test, answers made to match."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def write_run(folder: Path, modality: str, correct: Mapping[str, Sequence[Sequence[bool]]], *,
              model: str = "toy/model", style: str = "original", dataset: str | None = None,
              expected: Mapping[str, Sequence[str]] | None = None, factors: dict | None = None) -> Path:
    """A run folder whose puzzle ``id`` has one sample per list in ``correct[id]`` (True: that blank right).

    A right blank answers the expected value (``expected[id]``, else 10, 11, ...), a wrong one that value plus 1.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"model": model, "style": style, "modality": modality, "split": "test"}
    if dataset is not None:  # without one, the report has no step levels or images (and loads no dataset)
        config["dataset"] = dataset
    if factors is not None:
        config["factors"] = factors
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    lines = []
    for pid, samples in correct.items():
        for sample, blanks in enumerate(samples):
            values = list(expected[pid]) if expected else [str(10 + j) for j in range(len(blanks))]
            answer = " ".join(v if ok else str(int(v) + 1) for v, ok in zip(values, blanks))
            lines.append(json.dumps({"id": pid, "sample": sample, "output": f"<answer>{answer}</answer>",
                                     "answer": answer, "correct": [bool(ok) for ok in blanks]}))
    (folder / "predictions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
