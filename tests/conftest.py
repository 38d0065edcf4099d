import os
import sys
import tempfile
from pathlib import Path

# Nothing is fetched at test time: the Hub is off, and datasets caches under a throwaway folder.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="crossmath-hf-cache-"))

sys.path.insert(0, str(Path(__file__).parent))
