"""The package's shape: old import paths still work (with a warning) for one release, the lazily exported API is
visible to dir() and tab completion, reports never load a model, and every command prints its version."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import crossmath
from crossmath._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_import_path_warns_and_gives_the_module_at_its_new_home(old):
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old]}"):
        assert importlib.import_module(old) is new
    parent, _, child = old.rpartition(".")
    assert getattr(importlib.import_module(parent), child) is new


def test_from_import_of_an_old_name_gives_the_same_object():
    from crossmath.report.summary import summarize_runs

    sys.modules.pop("crossmath.eval.summary", None)
    with pytest.warns(DeprecationWarning, match="crossmath.report.summary"):
        from crossmath.eval.summary import summarize_runs as old  # type: ignore[import-untyped]
    assert old is summarize_runs


def test_dir_lists_the_lazy_names():
    names = dir(crossmath)
    for name in crossmath.__all__:
        assert name in names
    assert {"generate", "solve", "render", "Puzzle", "__version__"} <= set(names)


def test_reports_load_no_model_code():
    code = ("import sys, crossmath.report.report, crossmath.report.html; "
            "print(sorted(m for m in ('torch', 'transformers', 'crossmath.eval.backends') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["crossmath.cli", "crossmath.eval.cli", "crossmath.dataset.cli",
                                    "crossmath.train.cli"])
def test_every_command_prints_its_version(module):
    out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"crossmath {crossmath.__version__}"
