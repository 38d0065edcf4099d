"""The generation loop of one run: batches of prompts to a backend, prediction lines appended to the run folder."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tqdm import tqdm

from crossmath.eval.answers import answer_tokens, extract_answer
from crossmath.eval.backends.base import Backend, ChecksPrompts, Generation, Sampling
from crossmath.eval.metrics import blank_correctness
from crossmath.eval.prompts import TRANSCRIBE, build_prompt
from crossmath.eval.rundir import RunFolder
from crossmath.eval.scoring import truth_of
from crossmath.eval.sources import EvalItem
from crossmath.eval.transcripts import score_reading, true_grid


def batch_seed(seed: int, first_id: str) -> int:
    """The sampling seed of a batch, fixed by the run seed and the batch's first puzzle (so a resumed run draws
    what the uninterrupted one would have, at the same batch size)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{first_id}".encode()).digest()[:4], "big")


def prediction(item: EvalItem, sample: int, prompt_tokens: int | None, generation: Generation,
               seconds: float, transcribed: str | None = None) -> dict[str, Any]:
    """One line of ``predictions.jsonl``: a scored reply, or a failed request with its error. A transcription
    (``transcribed`` names the text form it was asked in) has no answer but its reading of the grid."""
    if generation.error is not None:
        return {"id": item.id, "sample": sample, "failed": True, "error": generation.error, "answer": None}
    scored: dict[str, Any]
    if transcribed is None:
        answer = extract_answer(generation.text)
        scored = {"answer": answer, "correct": blank_correctness(truth_of(item), answer_tokens(answer or ""))}
    else:
        reading = score_reading(true_grid(item.texts["markdown"]), generation.text, transcribed)
        scored = {"answer": None, "read": reading.record()}
    record = {"id": item.id, "sample": sample, "prompt_tokens": prompt_tokens, "output": generation.text, **scored,
              "generated_tokens": generation.tokens, "truncated": generation.truncated, "seconds": round(seconds, 4)}
    if generation.finish_reason is not None:
        record["finish_reason"] = generation.finish_reason
    if generation.usage is not None:
        record["usage"] = generation.usage
    return record


SAMPLES_PER_CALL = 16
"""The most replies per puzzle one backend call asks for: a run of many samples holds one chunk at a time."""


def _chunks(items: Sequence[EvalItem], missing: dict[str, list[int]]) -> dict[int, list[tuple[EvalItem, list[int]]]]:
    """Each puzzle's missing samples in chunks of at most :data:`SAMPLES_PER_CALL`, grouped by chunk size."""
    by_count: dict[int, list[tuple[EvalItem, list[int]]]] = {}
    for item in items:
        samples = missing[item.id]
        for start in range(0, len(samples), SAMPLES_PER_CALL):
            chunk = samples[start:start + SAMPLES_PER_CALL]
            by_count.setdefault(len(chunk), []).append((item, chunk))
    return by_count
def refusals(backend: Backend, item: EvalItem, modalities: Sequence[str], text_format: str,
             templates: dict[str, str]) -> dict[str, str]:
    """The modalities the backend's model cannot take, each with the reason, found by preparing ``item``'s prompt
    in each modality (nothing is generated); engines that cannot tell refuse nothing."""
    if not isinstance(backend, ChecksPrompts):
        return {}
    reasons = {m: backend.refusal(build_prompt(item, m, text_format, templates[m])) for m in modalities}
    return {m: reason for m, reason in reasons.items() if reason is not None}


def predict(backend: Backend, items: Sequence[EvalItem], run: RunFolder, *, modality: str, text_format: str,
            template: str, sampling: Sampling, batch_size: int, seed: int, progress: bool = True) -> None:
    """Predict every item and sample not yet answered in ``run`` (missing, or failed before): puzzles are batched
    by how many samples they lack, so a puzzle with some samples done asks only for the rest, at most
    :data:`SAMPLES_PER_CALL` of them per call."""
    done = run.done()
    missing = {item.id: [s for s in range(sampling.num_samples) if (item.id, s) not in done] for item in items}
    by_count = _chunks(items, missing)
    label = f"{run.config['style']}/{modality}"
    with tqdm(total=len(items), initial=sum(not samples for samples in missing.values()), desc=label,
              unit="puzzle", disable=not progress or None, dynamic_ncols=True) as bar:
        for count, pending in sorted(by_count.items(), reverse=True):
            wanted = replace(sampling, num_samples=count)
            for start in range(0, len(pending), batch_size):
                batch = pending[start:start + batch_size]
                prompts = [build_prompt(item, modality, text_format, template) for item, _ in batch]
                began = time.perf_counter()
                first_item, first_samples = batch[0]
                results = backend.generate(prompts, wanted, batch_seed(seed, first_item.id) + first_samples[0])
                seconds = (time.perf_counter() - began) / len(batch)
                run.append(prediction(item, sample, prompt_tokens, generation, seconds,
                                      text_format if modality == TRANSCRIBE else None)
                           for (item, samples), (prompt_tokens, generations) in zip(batch, results)
                           for sample, generation in zip(samples, generations))
                bar.update(sum(samples[-1] == missing[item.id][-1] for item, samples in batch))
