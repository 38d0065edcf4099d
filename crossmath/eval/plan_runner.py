"""``crossmath-eval run --plan``: every model of a plan, each in its styles and modalities, through the single-run
path (the same run folders and ``config.json``), then one report over all of them.

A model is loaded once for all its runs and freed before the next. A rerun skips finished runs (without loading
their model), continues partial ones and resends failed requests only. A model that fails (a bad path, a server
that is down, out of memory) is recorded, and the others still run; the summary names each failure in one line.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import sys
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmath._cli import sigterm_interrupts
from crossmath.errors import CrossmathError
from crossmath.eval.cells import (
    Cell,
    Ran,
    answered_runs,
    cell_status,
    fingerprints,
    given_transcripts,
    held,
    load_model_items,
    make_backend,
    model_cells,
    model_folder,
    open_runs,
    reported,
    run_cells,
)
from crossmath.eval.plan import FAILURES, PLAN_FILE, REPORT, Plan, PlanError, given_options, read_plan
from crossmath.eval.sources import EvalItem


@dataclass
class Entry:
    """A model of the plan, its cells, and their fingerprints and states before running."""

    args: argparse.Namespace
    cells: list[Cell]
    fingerprint: dict[str, str | None]
    status: list[str]

    @property
    def label(self) -> str:
        return model_folder(self.args)


def _entries(args: argparse.Namespace, parser: argparse.ArgumentParser,
             check: Callable[..., None]) -> tuple[Plan, list[Entry]]:
    """Read and check the plan and every model's cells; loads no model and no dataset rows."""
    plan = read_plan(args.plan, parser, args, given_options(parser, args.argv), lambda ns: check(ns, paths=False))
    entries = []
    for namespace in plan.models:
        try:
            cells = model_cells(namespace)
        except Exception as exc:  # a template, or a dataset whose configs cannot be listed
            raise PlanError(f"{plan.path}: [[model]] {model_folder(namespace)}: {_first_line(exc)}") from None
        prints = fingerprints(namespace, cells, hub=not args.dry_run)  # a dry run loads no Hub dataset
        entries.append(Entry(namespace, cells, prints, [cell_status(namespace, c, prints) for c in cells]))
    return plan, entries


def _first_line(exc: BaseException) -> str:
    """An error in one line: the message of bad input, else the error's type and message (``OutOfMemoryError:
    CUDA out of memory. ...``)."""
    text = str(exc).strip().split("\n", 1)[0]
    return text if isinstance(exc, CrossmathError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


def _chosen(entries: list[Entry], only: list[str] | None, plan: Path) -> list[Entry]:
    """The entries ``--only`` names (all without it); a name the plan lacks is an error naming the closest."""
    if not only:
        return entries
    names = [entry.label for entry in entries]
    unknown = [name for name in only if name not in names]
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1)
        raise PlanError(f"--only: {plan} has no model named {unknown[0]!r}"
                        + (f"; did you mean {close[0]!r}?" if close else f" (it has {', '.join(names)})"))
    return [entry for entry in entries if entry.label in only]


def _dry_run(entries: list[Entry]) -> int:
    width = max(len(entry.label) for entry in entries)
    cells = max(len(f"{cell.style}-{cell.modality}") for entry in entries for cell in entry.cells)
    for entry in entries:
        for cell, status in zip(entry.cells, entry.status):
            print(f"{entry.label:<{width}}  {cell.style + '-' + cell.modality:<{cells}}  {status:<14}  {cell.path}")
    runs = [s for e in entries for s in e.status]
    print(f"{len(runs)} runs of {len(entries)} models: {runs.count('done')} done, {runs.count('partial')} partial, "
          f"{runs.count('new')} to run" + (f", {runs.count('other settings')} held by runs of other settings"
                                             if "other settings" in runs else ""))
    return 0


def free_memory(loaded: list[weakref.ref[Any]]) -> None:
    """Before the next model loads: the previous one is gone (collected, where a reference cycle still held it:
    a full collection costs a second or more, so only then), and torch's cached GPU memory is given back."""
    if any(ref() is not None for ref in loaded):
        gc.collect()
    loaded.clear()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _run_entry(entry: Entry, items_cache: dict[tuple[Any, ...], list[EvalItem]],
               loaded: list[weakref.ref[Any]]) -> Ran:
    """Run a model's unfinished cells on one loaded backend, once the previous model's memory is free; its run
    folders are locked and checked before it loads."""
    args = entry.args
    blocked = [cell.path for cell, status in zip(entry.cells, entry.status) if status == "other settings"]
    if blocked:
        raise PlanError(f"{blocked[0]} holds a run of other settings; move it away or choose another output")
    todo = [cell for cell, status in zip(entry.cells, entry.status) if status != "done"]
    items = load_model_items(args, list(dict.fromkeys(cell.style for cell in todo)), items_cache)
    transcripts = given_transcripts(args, items)
    with held(todo):
        runs = open_runs(args, todo, items, entry.fingerprint, transcripts, resume=True)
        free_memory(loaded)
        backend = make_backend(args)
        loaded.append(weakref.ref(backend))
        return run_cells(args, backend, runs, items, transcripts)


def run_plan(args: argparse.Namespace, parser: argparse.ArgumentParser, check: Callable[..., None]) -> int:
    """Run (or with ``--dry-run`` list) a plan; exit status 1 when a model failed or a run is incomplete."""
    plan, entries = _entries(args, parser, check)
    chosen = _chosen(entries, args.only, plan.path)
    if args.dry_run:
        return _dry_run(chosen)
    output = Path(entries[0].args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / PLAN_FILE).write_text(plan.text, encoding="utf-8")
    failures: list[tuple[str, str]] = []
    incomplete, items_cache, loaded = 0, dict[tuple[Any, ...], list[EvalItem]](), list[weakref.ref[Any]]()
    log = output / FAILURES
    log.unlink(missing_ok=True)
    with sigterm_interrupts():
        try:
            for entry in chosen:
                if set(entry.status) == {"done"}:
                    print(f"{entry.label}: all {len(entry.cells)} runs done already", flush=True)
                    continue
                try:
                    ran = _run_entry(entry, items_cache, loaded)
                except Exception as exc:  # one model failing never stops the others
                    failures.append((entry.label, _first_line(exc)))
                    with open(log, "a", encoding="utf-8") as handle:
                        handle.write(f"== {entry.label}\n{''.join(traceback.format_exception(exc))}\n")
                    print(f"{entry.label}: FAILED: {_first_line(exc)}", file=sys.stderr, flush=True)
                    continue
                incomplete += ran.incomplete
                failures += [(entry.label, f"cannot take {modality} prompts: {reason}")
                             for modality, reason in ran.refused.items()]
        except KeyboardInterrupt:
            print("crossmath-eval: plan interrupted; rerun the same command to continue where it stopped",
                  file=sys.stderr)
            raise
    _report(entries, output)
    runs = sum(len(entry.cells) for entry in chosen)
    print(f"plan {plan.path}: {runs} runs of {len(chosen)} models" + (f", {incomplete} incomplete (failed "
          "requests; rerun to resend only those)" if incomplete else "") + (f", {len(failures)} model(s) failed:"
                                                                           if failures else ""))
    for label, message in failures:
        print(f"  FAILED {label}: {message}")
    return 1 if failures or incomplete else 0


def _report(entries: list[Entry], output: Path) -> None:
    """The report over every run of the plan that has results (not those of other settings in its folders), in
    ``OUTPUT/report``; a run without one answered prediction (every request failed) is named instead."""
    from crossmath.eval.rundir import METRICS
    from crossmath.report.report import gap_report

    found = [path for entry in entries for path in reported(
        [(cell.path, cell.modality) for cell, status in zip(entry.cells, entry.status)
         if status != "other settings" and (cell.path / METRICS).is_file()], entry.args.modality)]
    paths = answered_runs(found)
    if paths:
        markdown = gap_report(paths, out=output / REPORT)
        print(markdown.split("\n\n## ")[0])  # the leaderboard, the report's first table
        print(f"wrote the report over {len(paths)} runs to {output / REPORT}")
    elif found:
        print("no report: no run of the plan has an answered prediction")
