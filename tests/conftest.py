import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Nothing is fetched at test time: the Hub is off, and datasets caches under a throwaway folder.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
if "HF_DATASETS_CACHE" not in os.environ:  # each test process's own, removed when it exits
    os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="crossmath-hf-cache-")
    atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)
# One thread for torch in tests: tiny models gain nothing from more, and two test workers must not fight.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).parent))


from collections.abc import Callable

import pytest
from filelock import FileLock


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """A folder made once per test session by ``make(folder)`` and shared read-only by every xdist worker.

    Without xdist it is an ordinary temporary folder. With it, the first worker to ask makes it under the session's
    own base folder while holding a lock; the others wait and reuse it, so tiny models and datasets are built once.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / "shared" / name
    folder.parent.mkdir(exist_ok=True)
    with FileLock(f"{folder}.lock"):
        if not (root / "shared" / f"{name}.done").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that died while making it
            folder.mkdir()
            make(folder)
            (root / "shared" / f"{name}.done").touch()
    return folder


SLOWEST_FIRST = ("test_readme.py", "test_plan.py", "test_train_stream.py", "test_stream.py", "test_train.py",
                 "test_eval.py", "test_leaderboard.py", "test_eval_api.py", "test_dataset.py")
"""The test files that take longest (``--durations``), started first: xdist then deals the short files out to
whichever worker is free, instead of one worker finishing a long file while the other waits (pyproject's
``--no-loadscope-reorder`` keeps this order: xdist would otherwise start the files with the most tests first)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Puts the files of :data:`SLOWEST_FIRST` first, in that order (a stable sort keeps every file's own order)."""
    items.sort(key=lambda item: SLOWEST_FIRST.index(item.path.name) if item.path.name in SLOWEST_FIRST
               else len(SLOWEST_FIRST))


TINY_MODELS = {"qwen": "qwen2_vl", "llava": "llava", "gemma3": "gemma3", "idefics3": "idefics3",
               "qwen2_5": "qwen2_5_vl", "qwen3_5": "qwen3_5", "paligemma": "paligemma"}
"""Family -> shape: ``crossmath.testing.random_models.tiny_<shape>`` builds it into the folder ``tiny-<shape>``."""


def _model_folder(shape: str) -> str:
    return "tiny-" + shape.replace("_", "-")


def _make_tiny_models(root: Path) -> None:
    from crossmath.testing import random_models

    for shape in TINY_MODELS.values():
        getattr(random_models, f"tiny_{shape}")(root / _model_folder(shape))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Qwen2-VL-, LLaVA-, Gemma 3-, Idefics3-, Qwen2.5-VL-, Qwen3.5- and PaliGemma-style models with random
    weights, saved like Hub checkpoints."""
    root = shared_folder(tmp_path_factory, "models", _make_tiny_models)
    return {family: str(root / _model_folder(shape)) for family, shape in TINY_MODELS.items()}


def _make_eval_dataset(folder: Path) -> None:
    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES

    settings = BuildSettings(train_size=0, test_size=6, styles=(STYLES["original"], STYLES["altstyle"]),
                             outputs=("hf", "crossmath-jsonl"), version="test")
    build(folder / "ds", settings, progress=False)


@pytest.fixture(scope="session")
def eval_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small build: 6 test puzzles (2 per difficulty) in two styles, also in the published layout."""
    return shared_folder(tmp_path_factory, "eval-data", _make_eval_dataset) / "ds"


def _make_train_data(folder: Path) -> None:
    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES

    build(folder / "ds", BuildSettings(train_size=8, test_size=2, styles=(STYLES["original"],), version="test"),
          progress=False)


@pytest.fixture(scope="session")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 train puzzles and 2 test puzzles in one style (read only: the training tests share it)."""
    return shared_folder(tmp_path_factory, "train-data", _make_train_data) / "ds"
