"""Two-stage solving: a model gets the ordinary text prompt built from a transcription of the image (its own, or
another model's: "a VLM reads, an LLM solves") and solves that. Scored against the true answer, so the distance
to the text modality is what misreading costs.

A transcription that holds no table gets no request: its prediction is a wrong answer flagged
``"transcript_parsed": false``, never dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from crossmath.errors import CrossmathError
from crossmath.eval.backends.base import Backend, Sampling
from crossmath.eval.prompts import TRANSCRIBE, build_prompt
from crossmath.eval.rundir import PREDICTIONS, RunFolder, answered, read_config, read_predictions
from crossmath.eval.runner import batch_seed, prediction
from crossmath.eval.sources import EvalItem
from crossmath.eval.transcripts import grid_text, parse_grid


class TranscriptError(CrossmathError):
    """Transcripts that cannot serve a two-stage run."""


@dataclass(frozen=True)
class Transcripts:
    """The replies of a transcription run, per puzzle in sample order, and where they came from."""

    path: Path
    config: dict[str, Any]
    replies: dict[str, list[str]]

    def source(self) -> dict[str, Any]:
        """What a two-stage run's ``config.json`` records of them."""
        return transcript_source(self.path, self.config)

    def reply(self, item_id: str, sample: int) -> tuple[int, str]:
        """The transcription that sample ``sample`` solves from, and its sample (cycling when it has fewer)."""
        replies = self.replies[item_id]
        return sample % len(replies), replies[sample % len(replies)]


def transcript_source(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What a two-stage run records of the transcription run in ``path`` with ``config``: known before that run
    is made, so a command that makes both checks both run folders before the model loads."""
    return {"run": str(path.resolve()), "model": config.get("model"), "adapter": config.get("adapter"),
            "text_format": config.get("text_format"), "num_samples": config.get("num_samples")}


def load_transcripts(path: str | Path, *, fingerprint: str | None, style: str, split: str,
                     items: Sequence[EvalItem]) -> Transcripts:
    """A transcription run's replies for ``items``, refused in one line when it is not a transcription run, or
    transcribes another dataset, style or split, or lacks some of the puzzles."""
    folder = Path(path)
    if not (folder / PREDICTIONS).is_file():
        raise TranscriptError(f"--transcripts {folder} is not a crossmath-eval run folder (no config.json and "
                              "predictions.jsonl)")
    config = read_config(folder)
    if config.get("modality") != TRANSCRIBE:
        raise TranscriptError(f"--transcripts {folder} is a {config.get('modality')} run, not a transcribe run "
                              "(make one with --modality transcribe)")
    recorded = config.get("dataset_fingerprint")
    if fingerprint and recorded and recorded != fingerprint:
        raise TranscriptError(f"--transcripts {folder} transcribes another dataset (fingerprint {recorded}, this "
                              f"one has {fingerprint})")
    for key, wanted in (("style", style), ("split", split)):
        if config.get(key) != wanted:
            raise TranscriptError(f"--transcripts {folder} transcribes {key} {config.get(key)!r}, not {wanted!r}")
    replies: dict[str, dict[int, str]] = {}
    for record in answered(read_predictions(folder / PREDICTIONS)):
        replies.setdefault(record["id"], {})[record["sample"]] = str(record.get("output", ""))
    lacking = [item.id for item in items if item.id not in replies]
    if lacking:
        raise TranscriptError(f"--transcripts {folder} has no transcription of {len(lacking)} of the "
                              f"{len(items)} puzzles (e.g. {lacking[0]!r}); complete it with --resume or use --limit")
    ordered = {pid: [by_sample[s] for s in sorted(by_sample)] for pid, by_sample in replies.items()}
    return Transcripts(folder, config, ordered)


def _unparsed(item: EvalItem, sample: int, origin: dict[str, Any]) -> dict[str, Any]:
    return {"id": item.id, "sample": sample, "output": "", "answer": None, "correct": [False] * len(item.answer),
            "generated_tokens": 0, "transcript": origin}


def predict_two_stage(backend: Backend, items: Sequence[EvalItem], run: RunFolder, transcripts: Transcripts, *,
                      text_format: str, template: str, sampling: Sampling, batch_size: int, seed: int,
                      progress: bool = True) -> None:
    """Solve every (puzzle, sample) not yet answered in ``run`` from the text of its transcription."""
    done = run.done()
    reading_format = str(transcripts.config.get("text_format") or "markdown")
    pending = [(item, s) for item in items for s in range(sampling.num_samples) if (item.id, s) not in done]
    one = replace(sampling, num_samples=1)
    with tqdm(total=len(items) * sampling.num_samples, initial=len(items) * sampling.num_samples - len(pending),
              desc=f"{run.config['style']}/two-stage", unit="reply", disable=not progress or None,
              dynamic_ncols=True) as bar:
        for start in range(0, len(pending), batch_size):
            batch, asked, records = pending[start:start + batch_size], [], []
            for item, sample in batch:
                used, reply = transcripts.reply(item.id, sample)
                grid = parse_grid(reply, reading_format)
                origin = {"sample": used, "parsed": grid is not None}
                if grid is None:
                    records.append(_unparsed(item, sample, origin))
                else:
                    asked.append((replace(item, texts={text_format: grid_text(grid, text_format)}), sample, origin))
            if asked:
                prompts = [build_prompt(item, "text", text_format, template) for item, _, _ in asked]
                began = time.perf_counter()
                results = backend.generate(prompts, one, batch_seed(seed, f"{asked[0][0].id}:{asked[0][1]}"))
                seconds = (time.perf_counter() - began) / len(asked)
                for (item, sample, origin), (prompt_tokens, generations) in zip(asked, results):
                    records.append({**prediction(item, sample, prompt_tokens, generations[0], seconds),
                                    "transcript": origin})
            run.append(records)
            bar.update(len(batch))
