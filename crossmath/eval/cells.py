"""One model's runs, the path both ``crossmath-eval run`` and ``run --plan`` take: a cell per style and modality,
its run folder and ``config.json``, whether it is done, and running the cells on one loaded backend.

``args`` is the ``run`` command's namespace (options already checked), whether it came from the command line or
from a plan's model entry.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossmath._version import __version__
from crossmath.errors import CrossmathError
from crossmath.eval.prompts import DEFAULT_TEMPLATES, check_template, load_template
from crossmath.eval.rundir import CONFIG, EARLIER_DEFAULTS, METRICS, PREDICTIONS, RESULT_SETTINGS, read_config
from crossmath.eval.sources import EvalItem, describe_source, load_items, slug, source_fingerprint, source_revision

if TYPE_CHECKING:
    from crossmath.eval.backends.base import Backend


@dataclass(frozen=True)
class Cell:
    """One style and modality of a model: a run folder."""

    style: str
    modality: str
    path: Path
    template: str


def model_folder(args: argparse.Namespace) -> str:
    """The folder of a model's runs: its label (``--name``), else the model's (and adapter's) folder-safe name."""
    if getattr(args, "name", None):
        return slug(args.name)
    return slug(args.model) + (f"+{slug(args.adapter)}" if args.adapter else "")


def all_configs(dataset: str) -> list[str]:
    """Every config of a built dataset (a folder or a Hub id), for ``--style all``."""
    import datasets

    if Path(dataset).is_file():
        raise CrossmathError("--style all needs a dataset with configs, not a JSONL file")
    return datasets.get_dataset_config_names(dataset)


def model_cells(args: argparse.Namespace) -> list[Cell]:
    """The model's cells, styles (``all`` resolved) by modalities, each template checked; loads no model or data."""
    template_text = load_template(args.prompt_file) if args.prompt_file else None
    for modality in args.modality:
        check_template(template_text or DEFAULT_TEMPLATES[modality], modality)
    styles = all_configs(args.dataset) if args.style == ["all"] else args.style
    folder = Path(args.output) / model_folder(args)
    return [Cell(style, modality, folder / f"{slug(style)}-{modality}", template_text or DEFAULT_TEMPLATES[modality])
            for style in styles for modality in args.modality]


def run_config(args: argparse.Namespace, cell: Cell, fingerprint: str | None, factors: dict[str, Any],
               described: dict[str, Any]) -> dict[str, Any]:
    """A run's ``config.json``: every setting, and what the loaded backend says of itself (``described``)."""
    return {
        "model": args.model, "name": getattr(args, "name", None), "adapter": args.adapter,
        "merge_adapter": args.merge_adapter, "dataset": describe_source(args.dataset),
        "dataset_fingerprint": fingerprint, "dataset_revision": source_revision(args.dataset), "style": cell.style,
        "factors": factors, "split": args.split, "modality": cell.modality, "text_format": args.text_format,
        "prompt_template": cell.template, "num_samples": args.num_samples, "temperature": args.temperature,
        "top_p": args.top_p, "max_new_tokens": args.max_new_tokens, "seed": args.seed, "thinking": args.thinking,
        "dtype": args.dtype, "limit": args.limit, "batch_size": args.batch_size, "device_map": args.device_map,
        "attn_implementation": args.attn_implementation, "engine": args.backend,
        "extra_body": args.extra_body or None,
        "model_revision": described.get("model_revision") or described.get("server_model"),
        "crossmath": __version__, "backend": described,
    }


def cell_status(args: argparse.Namespace, cell: Cell, fingerprint: dict[str, str | None]) -> str:
    """``new`` (nothing written), ``done`` (scored and complete), ``partial`` (some predictions, or failed
    requests to retry) or ``other settings`` (a run of different settings holds the folder); reads only the run
    folder, never the model or the dataset's rows (a style missing from ``fingerprint`` is not compared on it)."""
    if not (cell.path / PREDICTIONS).is_file() or not (cell.path / CONFIG).is_file():
        return "new"
    old, new = read_config(cell.path), run_config(args, cell, fingerprint.get(cell.style), {}, {})
    keys = [key for key in RESULT_SETTINGS if key != "dataset_fingerprint" or cell.style in fingerprint]
    if any(old.get(key, EARLIER_DEFAULTS.get(key)) != new.get(key) for key in keys):
        return "other settings"
    metrics_path = cell.path / METRICS
    if metrics_path.is_file() and json.loads(metrics_path.read_text(encoding="utf-8")).get("complete", True):
        return "done"
    return "partial"


def fingerprints(args: argparse.Namespace, cells: Sequence[Cell], *, hub: bool = True) -> dict[str, str | None]:
    """The dataset fingerprint of each style the cells use; with ``hub=False`` none for a Hub dataset (whose
    fingerprint takes loading it)."""
    if not hub and not Path(args.dataset).exists():
        return {}
    styles = dict.fromkeys(cell.style for cell in cells)
    return {style: source_fingerprint(args.dataset, style, args.split) for style in styles}


def load_model_items(args: argparse.Namespace, styles: Sequence[str],
                     cache: dict[tuple[Any, ...], list[EvalItem]] | None = None) -> dict[str, list[EvalItem]]:
    """The puzzles of each style, checked to hold puzzles and the text format the prompts need; ``cache`` keeps
    them for the next model of a plan."""
    cache = {} if cache is None else cache
    items_by_style = {}
    for style in styles:
        key = (args.dataset, style, args.split, args.limit)
        if key not in cache:
            cache[key] = load_items(args.dataset, style, args.split, args.limit)
        items_by_style[style] = cache[key]
    for style, items in items_by_style.items():
        if not items:
            raise CrossmathError(f"{args.dataset} has no puzzles in config {style!r}, split {args.split!r}")
        if args.modality != ["image"] and args.text_format not in items[0].texts:
            raise CrossmathError(f"{args.dataset} carries no {args.text_format} text (it has "
                                 f"{', '.join(items[0].texts)}); choose another --text-format")
    return items_by_style


def make_backend(args: argparse.Namespace) -> Backend:
    """The engine of a model: a server client, or the model loaded here with transformers."""
    if args.backend == "openai":
        from crossmath.eval.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(args.model, base_url=args.base_url, api_key_env=args.api_key_env or "OPENAI_API_KEY",
                             concurrency=args.concurrency, timeout=args.timeout, max_retries=args.max_retries,
                             extra_body=args.extra_body)
    from crossmath.eval.backends.transformers_backend import TransformersBackend

    return TransformersBackend(args.model, adapter=args.adapter, merge_adapter=args.merge_adapter, dtype=args.dtype,
                               device_map=args.device_map, attn_implementation=args.attn_implementation,
                               trust_remote_code=args.trust_remote_code)


def run_cells(args: argparse.Namespace, backend: Backend, cells: Sequence[Cell],
              items_by_style: dict[str, list[EvalItem]], fingerprint: dict[str, str | None], *,
              resume: bool) -> list[dict[str, Any]]:
    """Run each cell on the backend (only what its folder lacks when resuming), write its results and print one
    line per run; returns each run's metrics."""
    from crossmath.eval.backends.base import Sampling
    from crossmath.eval.run_report import write_results
    from crossmath.eval.rundir import RunFolder
    from crossmath.eval.runner import predict

    sampling = Sampling(args.num_samples, args.temperature, args.top_p, args.max_new_tokens, args.thinking)
    described = backend.describe()
    results = []
    for cell in cells:
        items = items_by_style[cell.style]
        config = run_config(args, cell, fingerprint[cell.style], items[0].factors, described)
        run = RunFolder(cell.path, config, resume=resume)
        predict(backend, items, run, modality=cell.modality, text_format=args.text_format, template=cell.template,
                sampling=sampling, batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress)
        metrics = write_results(run, items, args.num_samples)
        print(f"{cell.path}: {summary_line(metrics)}", flush=True)
        results.append(metrics)
    return results


def summary_line(metrics: dict) -> str:
    figures = ", ".join(f"{name} " + ("n/a" if metrics[name]["mean"] is None else f"{metrics[name]['mean']:.2f}%")
                        for name in ("micro", "macro"))
    failed = f", INCOMPLETE: {metrics['failed_puzzles']} failed" if not metrics["complete"] else ""
    return f"{figures} ({metrics['puzzles']} puzzles x {metrics['samples']} samples{failed})"
