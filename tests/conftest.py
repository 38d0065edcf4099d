import os
import sys
import tempfile
from pathlib import Path

# Nothing is fetched at test time: the Hub is off, and datasets caches under a throwaway folder.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="crossmath-hf-cache-"))
# One thread for torch in tests: tiny models gain nothing from more, and two test workers must not fight.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).parent))


import pytest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Qwen2-VL-, LLaVA-, Gemma 3-, Idefics3-, Qwen2.5-VL-, Qwen3.5- and PaliGemma-style models with random
    weights, saved like Hub checkpoints."""
    from crossmath.testing import random_models as build

    root = tmp_path_factory.mktemp("models")
    return {"qwen": str(build.tiny_qwen2_vl(root / "tiny-qwen2-vl")),
            "llava": str(build.tiny_llava(root / "tiny-llava")), "gemma3": str(build.tiny_gemma3(root / "tiny-gemma3")),
            "idefics3": str(build.tiny_idefics3(root / "tiny-idefics3")),
            "qwen2_5": str(build.tiny_qwen2_5_vl(root / "tiny-qwen2_5-vl")),
            "qwen3_5": str(build.tiny_qwen3_5(root / "tiny-qwen3_5")),
            "paligemma": str(build.tiny_paligemma(root / "tiny-paligemma"))}


@pytest.fixture(scope="session")
def eval_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small build: 6 test puzzles (2 per difficulty) in two styles, also in the published layout."""
    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES

    out = tmp_path_factory.mktemp("eval-data") / "ds"
    settings = BuildSettings(train_size=0, test_size=6, styles=(STYLES["original"], STYLES["altstyle"]),
                             outputs=("hf", "crossmath-jsonl"), version="test")
    build(out, settings, progress=False)
    return out
