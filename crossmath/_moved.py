"""Old import paths, kept working for one release (until 0.3): the report modules moved from ``crossmath.eval`` to
``crossmath.report``, the test helpers to ``crossmath.testing``, and the lmms-eval model list to
``crossmath.tasks.models``. Importing an old path warns (``DeprecationWarning``) and gives the module at its new
home, the very same object, so old and new names never hold two copies of a module's state."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_REPORT = ("summary", "stats", "outcomes", "grouping", "tables", "figures", "gallery", "html", "report")
MOVED: dict[str, str] = {
    **{f"crossmath.eval.{name}": f"crossmath.report.{name}" for name in _REPORT},
    "crossmath.eval.answer_server": "crossmath.testing.answer_server",
    "crossmath.eval.random_models": "crossmath.testing.random_models",
    "crossmath.models": "crossmath.tasks.models",
}
"""Old module name -> new module name."""


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old names, and loads each by importing the new one in its place."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def exec_module(self, module: ModuleType) -> None:
        new = MOVED[module.__name__]
        warnings.warn(f"{module.__name__} moved to {new}; the old name goes in crossmath 0.3", DeprecationWarning,
                      stacklevel=2)
        sys.modules[module.__name__] = importlib.import_module(new)  # the import system returns this entry


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
