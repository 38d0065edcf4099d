"""Plan files: a whole study (models, and the dataset, styles, modalities and decoding they share) in one TOML file.

Top-level keys are ``run`` options shared by every model, named as on the command line with underscores
(``max_new_tokens``, ``text_format``; ``styles`` and ``modalities`` for ``--style`` and ``--modality``). Each
``[[model]]`` table is one model: its id or path under ``model``, its label under ``name`` (the folder of its runs
and its row in reports) and any ``run`` option of its own. Options given on the command line override both. A plan
is checked whole before anything runs: an unknown key (with the closest known one), a value of the wrong kind, a
model without an id, two models of one name, a model named like a file or folder the plan writes in its output
folder, or an output that is a file is one error line.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmath._cli import check_finite
from crossmath._toml import read_toml
from crossmath.errors import CrossmathError

PLAN_FILE = "plan.toml"
"""The plan's copy in its output folder."""
FAILURES = "plan-failures.log"
"""Written to the output folder when models fail: each failure's traceback."""
REPORT = "report"
"""The folder of the report over every run, in the output folder."""
OUTPUT_NAMES = {PLAN_FILE: "copy of the plan", FAILURES: "failure log", REPORT: "report folder"}
"""What a plan writes in its output folder beside the models' folders, which no model may be named."""
RENAMED = {"styles": "style", "modalities": "modality"}
"""Plan keys whose ``run`` option has another name (a list in the file, a comma list on the command line)."""
COMMAND_LINE_ONLY = ("help", "plan", "dry_run", "only", "resume", "no_progress")
"""``run`` options that say how to run a plan, not what it holds."""
SHARED_ONLY = ("output",)
"""Keys for the whole plan only: the study has one output folder."""
MODEL_ONLY = ("name", "model", "adapter")
"""Keys for a ``[[model]]`` table only."""
NOT_OVERRIDDEN = ("model", "adapter", "name")
"""Options the command line may not give with a plan (they tell its models apart)."""


class PlanError(CrossmathError):
    """A plan file that cannot be run as written."""


@dataclass(frozen=True)
class Plan:
    path: Path
    text: str
    """The file as written (copied into the output folder)."""
    models: list[argparse.Namespace]
    """One ``run`` namespace per ``[[model]]``, in file order: defaults, then the file, then the command line."""


def run_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The ``run`` subcommand's options a plan may set, by destination."""
    run = _subparser(parser)
    return {action.dest: action for action in run._actions
            if action.option_strings and action.dest not in COMMAND_LINE_ONLY}


def _subparser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["run"]


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> dict[str, Any]:
    """The ``run`` options typed on the command line (``argv``), by destination: what overrides a plan."""
    quiet = copy.deepcopy(parser)
    run = _subparser(quiet)
    for action in run._actions:
        action.default = argparse.SUPPRESS
    run._defaults.clear()
    parsed, _ = quiet.parse_known_args(argv)
    options = run_options(parser)
    return {dest: value for dest, value in vars(parsed).items() if dest in options}


def plan_key(dest: str) -> str:
    return next((key for key, name in RENAMED.items() if name == dest), dest)


def _unknown(key: str, known: Sequence[str], where: str) -> PlanError:
    close = difflib.get_close_matches(key, known, n=1)
    return PlanError(f"{where}: unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else
                                                       f" (known: {', '.join(sorted(known))})"))


def _value(key: str, action: argparse.Action, value: Any, where: str) -> Any:
    """A file value as the command line would have given it, checked by the option's own parser and choices."""
    if action.nargs == 0:  # a switch
        if not isinstance(value, bool):
            raise PlanError(f"{where}: {key} must be true or false, not {value!r}")
        return value
    if action.dest == "extra_body":
        if not isinstance(value, dict):
            raise PlanError(f"{where}: extra_body must be a table, e.g. extra_body = {{ top_k = 20 }}")
        return json.dumps(value)
    if action.dest in RENAMED.values():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        elif not isinstance(value, str):
            raise PlanError(f"{where}: {key} must be a list of names, e.g. {key} = [\"a\", \"b\"]")
    kinds: dict[Any, tuple[tuple[type, ...], str]] = {int: ((int,), "a whole number"),
                                                       float: ((int, float), "a number")}
    expected, kind = kinds.get(action.type, ((str,), "text"))
    if isinstance(value, bool) or not isinstance(value, expected):
        raise PlanError(f"{where}: {key} must be {kind}, not {value!r}")
    try:
        parsed = action.type(str(value)) if callable(action.type) else value
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise PlanError(f"{where}: {key}: {exc}") from None
    try:
        check_finite([(key, parsed)])  # TOML writes nan and inf
    except CrossmathError as exc:
        raise PlanError(f"{where}: {exc}") from None
    if action.choices is not None and parsed not in action.choices:
        raise PlanError(f"{where}: {key} must be one of {', '.join(map(str, action.choices))}, not {value!r}")
    return parsed


def _table(data: dict[str, Any], options: dict[str, argparse.Action], allowed: Sequence[str],
           where: str) -> dict[str, Any]:
    """A table's keys as ``run`` destinations and values."""
    known = [plan_key(dest) for dest in allowed]
    settings = {}
    for key, value in data.items():
        dest = RENAMED.get(key, key)
        if key not in known:
            raise _unknown(key, known, where)
        settings[dest] = _value(key, options[dest], value, where)
    return settings


def read_plan(path: str | Path, parser: argparse.ArgumentParser, args: argparse.Namespace,
              given: dict[str, Any], check: Callable[[argparse.Namespace], None]) -> Plan:
    """Read and check a plan: ``args`` is the command's namespace (its defaults), ``given`` the options typed on
    the command line, ``check`` the ``run`` command's own option checks (run on each model's namespace)."""
    from crossmath.eval.cells import model_folder

    path = Path(path)
    data, text = read_toml(path, "plan")
    options = run_options(parser)
    overridden = [f"--{dest.replace('_', '-')}" for dest in NOT_OVERRIDDEN if dest in given]
    if overridden:
        raise PlanError(f"{', '.join(overridden)} cannot be given with --plan: the plan's [[model]] tables name "
                        "each model")
    tables = data.pop("model", None)
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise PlanError(f"{path}: a plan needs at least one [[model]] table"
                        + ("" if tables is None else " (model must be [[model]] tables, not a value)"))
    shared = _table(data, options, [d for d in options if d not in MODEL_ONLY], str(path))
    model_keys = [d for d in options if d not in SHARED_ONLY]
    models, folders = [], dict[str, int]()
    for number, table in enumerate(tables, start=1):
        label = table.get("name") or table.get("model")
        where = f"{path}: [[model]] {number}" + (f" ({label})" if isinstance(label, str) else "")
        own = _table(table, options, model_keys, where)
        if not own.get("model"):
            raise PlanError(f"{where} has a base URL but no model: give model = the name the server serves it under"
                            if own.get("base_url") else f"{where} has neither a model id or path nor a base URL: "
                            "give model = \"HUB ID or FOLDER\" (or base_url and the name the server serves)")
        settings = {**shared, **own, **given}
        if "backend" not in settings and settings.get("base_url"):
            settings["backend"] = "openai"  # a model behind a server
        namespace = argparse.Namespace(**{**vars(args), **settings})
        try:
            check(namespace)
        except CrossmathError as exc:
            raise PlanError(f"{where}: {exc}") from None
        folder = model_folder(namespace)
        if folder in folders:
            raise PlanError(f"{path}: [[model]] {folders[folder]} and {number} are both named {folder!r}; give "
                            "each model its own name")
        taken = next((name for name in OUTPUT_NAMES if name.casefold() == folder.casefold()), None)
        if taken is not None:
            raise PlanError(f"{where}: its runs' folder {folder!r} is the plan's own {OUTPUT_NAMES[taken]} in the "
                            "output folder; give the model another name")
        folders[folder] = number
        models.append(namespace)
    output = Path(models[0].output)
    if output.exists() and not output.is_dir():
        raise PlanError(f"output {output} is a file; the plan writes its runs and report in a folder: give a folder "
                        "(new or existing)")
    return Plan(path, text, models)
