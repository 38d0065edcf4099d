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
from crossmath.eval.prompts import build_prompt
from crossmath.eval.rundir import RunFolder
from crossmath.eval.scoring import truth_of
from crossmath.eval.sources import EvalItem


def batch_seed(seed: int, first_id: str) -> int:
    """The sampling seed of a batch, fixed by the run seed and the batch's first puzzle (so a resumed run draws
    what the uninterrupted one would have, at the same batch size)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{first_id}".encode()).digest()[:4], "big")


def prediction(item: EvalItem, sample: int, prompt_tokens: int | None, generation: Generation,
               seconds: float) -> dict[str, Any]:
    """One line of ``predictions.jsonl``: a scored reply, or a failed request with its error."""
    if generation.error is not None:
        return {"id": item.id, "sample": sample, "failed": True, "error": generation.error, "answer": None}
    answer = extract_answer(generation.text)
    record = {"id": item.id, "sample": sample, "prompt_tokens": prompt_tokens, "output": generation.text,
              "answer": answer, "correct": blank_correctness(truth_of(item), answer_tokens(answer or "")),
              "generated_tokens": generation.tokens, "truncated": generation.truncated, "seconds": round(seconds, 4)}
    if generation.finish_reason is not None:
        record["finish_reason"] = generation.finish_reason
    if generation.usage is not None:
        record["usage"] = generation.usage
    return record


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
    by how many samples they lack, so a puzzle with some samples done asks only for the rest."""
    done = run.done()
    missing = {item.id: [s for s in range(sampling.num_samples) if (item.id, s) not in done] for item in items}
    by_count: dict[int, list[EvalItem]] = {}
    for item in items:
        if missing[item.id]:
            by_count.setdefault(len(missing[item.id]), []).append(item)
    label = f"{run.config['style']}/{modality}"
    with tqdm(total=len(items), initial=len(items) - sum(map(len, by_count.values())), desc=label, unit="puzzle",
              disable=not progress or None, dynamic_ncols=True) as bar:
        for count, pending in sorted(by_count.items(), reverse=True):
            wanted = replace(sampling, num_samples=count)
            for start in range(0, len(pending), batch_size):
                batch = pending[start:start + batch_size]
                prompts = [build_prompt(item, modality, text_format, template) for item in batch]
                began = time.perf_counter()
                results = backend.generate(prompts, wanted, batch_seed(seed, batch[0].id))
                seconds = (time.perf_counter() - began) / len(batch)
                run.append(prediction(item, sample, prompt_tokens, generation, seconds)
                           for item, (prompt_tokens, generations) in zip(batch, results)
                           for sample, generation in zip(missing[item.id], generations))
                bar.update(len(batch))
