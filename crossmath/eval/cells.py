"""One model's runs, the path both ``crossmath-eval run`` and ``run --plan`` take: a cell per style and modality,
its run folder and ``config.json``, whether it is done, and running the cells on one loaded backend.

``args`` is the ``run`` command's namespace (options already checked), whether it came from the command line or
from a plan's model entry.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossmath._version import __version__
from crossmath.errors import CrossmathError
from crossmath.eval.prompts import DEFAULT_TEMPLATES, MODALITIES, TRANSCRIBE, TWO_STAGE, check_template, load_template
from crossmath.eval.rundir import CONFIG, EARLIER_DEFAULTS, METRICS, PREDICTIONS, RESULT_SETTINGS, read_config
from crossmath.eval.sources import EvalItem, describe_source, load_items, slug, source_fingerprint, source_revision

if TYPE_CHECKING:
    from crossmath.eval.backends.base import Backend
    from crossmath.eval.rundir import RunFolder
    from crossmath.eval.two_stage import Transcripts


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
    # a style or modality named twice is one run folder, run once (not refused as locked by this very process)
    return [Cell(style, modality, folder / f"{slug(style)}-{modality}", template_text or DEFAULT_TEMPLATES[modality])
            for style in dict.fromkeys(styles) for modality in dict.fromkeys(args.modality)]


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
        "transcripts": None, "crossmath": __version__, "backend": described or None,
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
        if {"text", "hybrid"} & set(args.modality) and args.text_format not in items[0].texts:
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


@contextlib.contextmanager
def held(cells: Sequence[Cell]) -> Iterator[None]:
    """Hold the lock of every cell's run folder: a second run into any of them stops at once, naming this one."""
    from crossmath.locking import folder_lock

    with contextlib.ExitStack() as stack:
        for cell in cells:
            stack.enter_context(folder_lock(cell.path, "crossmath-eval run"))
        yield


def given_transcripts(args: argparse.Namespace, items_by_style: dict[str, list[EvalItem]]) -> dict[str, Transcripts]:
    """``--transcripts RUN_DIR`` for each style, checked against the dataset, style and split (none without it)."""
    from crossmath.eval.two_stage import load_transcripts

    if not args.transcripts:
        return {}
    return {style: load_transcripts(args.transcripts, fingerprint=source_fingerprint(args.dataset, style, args.split),
                                    style=style, split=args.split, items=items)
            for style, items in items_by_style.items()}


def open_runs(args: argparse.Namespace, cells: Sequence[Cell], items_by_style: dict[str, list[EvalItem]],
              fingerprint: dict[str, str | None], transcripts: dict[str, Transcripts], *,
              resume: bool) -> list[RunFolder]:
    """Each cell's run folder, checked (taken by another run, or resumable with these settings) before any model
    loads; a two-stage run records the transcripts it reads: given ones, or the model's own transcribe run."""
    from crossmath.eval.rundir import RunFolder
    from crossmath.eval.two_stage import transcript_source

    runs = []
    for cell in cells:
        items = items_by_style[cell.style]
        config = run_config(args, cell, fingerprint[cell.style], items[0].factors, {})
        if cell.modality == TWO_STAGE:
            own = Cell(cell.style, TRANSCRIBE, cell.path.with_name(f"{slug(cell.style)}-{TRANSCRIBE}"), cell.template)
            config["transcripts"] = (transcripts[cell.style].source() if cell.style in transcripts else
                                     transcript_source(own.path, run_config(args, own, None, {}, {})))
        runs.append(RunFolder(cell.path, config, resume=resume))
    return runs


def refused_modalities(backend: Backend, item: EvalItem, args: argparse.Namespace,
                       templates: dict[str, str]) -> dict[str, str]:
    """The modalities (keys of ``templates``, each with its prompt template) the model cannot take, each with the
    reason, printed one line each; two-stage solving asks for text prompts (its template is one), so it goes where
    text does."""
    from crossmath.eval.runner import refusals

    asks = {modality: "text" if modality == TWO_STAGE else modality for modality in templates}
    kinds = {kind: templates.get(kind) or templates[modality] for modality, kind in asks.items()}
    found = refusals(backend, item, sorted(kinds), args.text_format, kinds)
    refused = {modality: found[kind] for modality, kind in asks.items() if kind in found}
    for modality, reason in refused.items():
        print(f"crossmath-eval: {args.model} cannot take {modality} prompts, so no {modality} run: {reason}",
              file=sys.stderr)
    return refused


def run_cells(args: argparse.Namespace, backend: Backend, runs: Sequence[RunFolder],
              items_by_style: dict[str, list[EvalItem]], transcripts: dict[str, Transcripts]) -> Ran:
    """Run each run folder on the backend (only what it lacks when resuming), write its results and print one line
    per run; a modality the model cannot take is refused in one line and its runs left out."""
    from crossmath.eval.backends.base import Sampling
    from crossmath.eval.run_report import write_results
    from crossmath.eval.runner import predict
    from crossmath.eval.two_stage import load_transcripts, predict_two_stage

    first = items_by_style[runs[0].config["style"]][0]
    refused = refused_modalities(backend, first, args,
                                 {run.config["modality"]: run.config["prompt_template"] for run in runs})
    sampling = Sampling(args.num_samples, args.temperature, args.top_p, args.max_new_tokens, args.thinking)
    described = backend.describe()
    ran = Ran(refused=refused)
    for run in runs:
        style, modality = run.config["style"], run.config["modality"]
        if modality in refused:
            continue
        run.config.update(backend=described,
                          model_revision=described.get("model_revision") or described.get("server_model"))
        items = items_by_style[style]
        if modality == TWO_STAGE:
            reading = transcripts.get(style) or load_transcripts(
                run.config["transcripts"]["run"], fingerprint=run.config["dataset_fingerprint"], style=style,
                split=args.split, items=items)
            predict_two_stage(backend, items, run, reading, text_format=args.text_format,
                              template=run.config["prompt_template"], sampling=sampling, batch_size=args.batch_size,
                              seed=args.seed, progress=not args.no_progress)
        else:
            predict(backend, items, run, modality=modality, text_format=args.text_format,
                    template=run.config["prompt_template"], sampling=sampling, batch_size=args.batch_size,
                    seed=args.seed, progress=not args.no_progress)
        metrics = write_results(run, items, args.num_samples)
        print(f"{run.path}: {summary_line(metrics)}", flush=True)
        ran.metrics.append(metrics)
        ran.paths.append((run.path, modality))
    return ran


@dataclass
class Ran:
    """What :func:`run_cells` did: each run's metrics and folder, and the modalities the model could not take."""

    refused: dict[str, str]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    paths: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def incomplete(self) -> int:
        return sum(not metrics["complete"] for metrics in self.metrics)


def reported(paths: Sequence[tuple[Path, str]], modalities: Sequence[str]) -> list[Path]:
    """The runs a report covers: those that answer, and the reading runs too where text, image and two-stage runs
    are all there to split the gap (a reading run alone is reported by its own metrics)."""
    whole = TWO_STAGE in modalities and {"text", "image"} <= set(modalities)
    return [path for path, modality in paths if modality in MODALITIES or whole]


def answered_runs(paths: Sequence[Path]) -> list[Path]:
    """The runs of ``paths`` with at least one answered prediction, which a report can cover; each other run (every
    request failed) is named in one line instead of failing the report."""
    answered = []
    for path in paths:
        if json.loads((path / METRICS).read_text(encoding="utf-8"))["puzzles"]:
            answered.append(path)
        else:
            print(f"not in the report: {path} has no answered prediction (every request failed)")
    return answered


def summary_line(metrics: dict) -> str:
    """A run's figures in one line: micro and macro accuracy, or a transcription's read figures."""
    if "read" in metrics:
        figures = ", ".join(f"read {name} " + ("n/a" if metrics["read"][name] is None else
                                               f"{metrics['read'][name]['mean']:.2f}%")
                            for name in ("cells", "numbers", "grid_exact"))
        return f"{figures} ({metrics['puzzles']} puzzles x {metrics['samples']} samples)"
    figures = ", ".join(f"{name} " + ("n/a" if metrics[name]["mean"] is None else f"{metrics[name]['mean']:.2f}%")
                        for name in ("micro", "macro"))
    failed = f", INCOMPLETE: {metrics['failed_puzzles']} failed" if not metrics["complete"] else ""
    return f"{figures} ({metrics['puzzles']} puzzles x {metrics['samples']} samples{failed})"
