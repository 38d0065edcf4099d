"""Which runs a report may put side by side: runs are compared across modality and style only when every other
setting that changes what a model is asked or how it answers (prompt, text format, adapter, decoding, engine,
dataset, ...) is the same; sample count and seed are the only other settings allowed to differ.

Runs of one model that differ in such settings become separate rows, each labelled with what differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from crossmath.errors import CrossmathError
from crossmath.eval.prompts import DEFAULT_TEMPLATES
from crossmath.eval.rundir import EARLIER_DEFAULTS, RESULT_SETTINGS

AXES = ("style", "modality")
"""What a report compares across."""
SAMPLE_SETTINGS = ("num_samples", "seed")
"""What may differ between runs that are merged."""
PER_CONFIG = ("dataset_fingerprint",)
"""What differs with the style (a Hub dataset's fingerprint is per config); the dataset and its revision stay."""
MERGE_SETTINGS = tuple(key for key in RESULT_SETTINGS if key not in AXES + SAMPLE_SETTINGS + PER_CONFIG)


def _prompt(config: dict[str, Any]) -> str:
    template = config.get("prompt_template")
    if template is None or template == DEFAULT_TEMPLATES.get(str(config.get("modality"))):
        return "default"
    return "custom-" + hashlib.sha256(str(template).encode()).hexdigest()[:8]


def merge_key(config: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The settings two runs must share to be merged into one report row (the prompt as ``default`` or a digest
    of a custom template, since the default differs by modality)."""
    values = {key: _prompt(config) if key == "prompt_template" else config.get(key, EARLIER_DEFAULTS.get(key))
              for key in MERGE_SETTINGS}
    return tuple((key, json.dumps(value, sort_keys=True)) for key, value in values.items())


def row_labels(runs: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """A row label per run (its folder and config): the model (and adapter), plus the settings in which it
    differs from other runs of that model, so runs that must not be merged never share a label. Two runs with the
    same label, style and modality are refused."""
    def name(config: dict[str, Any]) -> str:
        return str(config.get("model")) + (f" + {config['adapter']}" if config.get("adapter") else "")

    names, configs = [name for name, _ in runs], [config for _, config in runs]
    keys = [dict(merge_key(config)) for config in configs]
    labels = []
    for config, key in zip(configs, keys):
        others = [k for c, k in zip(configs, keys) if name(c) == name(config)]
        differing = [setting for setting in MERGE_SETTINGS if setting not in ("model", "adapter")
                     and len({k[setting] for k in others}) > 1]
        extra = ", ".join(f"{s}={json.loads(key[s]) if s != 'prompt_template' else _prompt(config)}"
                          for s in differing)
        labels.append(name(config) + (f" [{extra}]" if extra else ""))
    seen: dict[tuple[str, ...], int] = {}
    for position, (label, config) in enumerate(zip(labels, configs)):
        cell = (label, *(str(config.get(axis)) for axis in AXES), json.dumps(config.get("factors"), sort_keys=True))
        if cell in seen:
            raise CrossmathError(f"{names[seen[cell]]} and {names[position]} are runs of the same settings "
                                 f"({label}, {', '.join(cell[1:3])}); give only one of them")
        seen[cell] = position
    return labels
