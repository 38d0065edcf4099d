"""Everything one training run is made of, recorded in the adapter folder as ``crossmath_train.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from crossmath.errors import CrossmathError

CONFIG_FILE = "crossmath_train.json"
LOG_FILE = "train_log.jsonl"
RESUMABLE = {"epochs", "max_steps", "resume", "merge", "progress"}
"""Options a resumed run may change: how long to train, and what to do at the end."""


@dataclass(frozen=True)
class TrainOptions:
    model: str
    dataset: str | None
    out: str
    styles: tuple[str, ...] = ("original",)
    split: str = "train"
    allow_test: bool = False
    limit: int | None = None
    modality: str = "text"
    text_format: str = "markdown"
    prompt_template: str | None = None
    method: str = "sft"
    target: str = "answer"
    teacher_run: str | None = None
    """``--target self-distill``: the crossmath-eval text-mode run whose correct replies are learnt."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ()
    train_vision: bool = False
    learning_rate: float = 1e-4
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 4
    grad_accum: int = 1
    gradient_checkpointing: bool = False
    dtype: str = "auto"
    device_map: str | None = "none"
    attn_implementation: str | None = None
    trust_remote_code: bool = False
    seed: int = 0
    eval_size: int = 0
    save_steps: int = 50
    logging_steps: int = 1
    report_to: tuple[str, ...] = ("none",)
    num_generations: int = 4
    beta: float = 0.04
    max_completion_length: int = 256
    temperature: float = 1.0
    rewards: tuple[str, ...] = ("correctness", "format")
    stream: bool = False
    """Train on :func:`crossmath.dataset.stream` puzzles made on the fly instead of ``dataset``."""
    exclude: str | None = None
    """A crossmath build whose test split the stream never yields (the held-out evaluation set)."""
    curriculum: str | None = None
    """``FACTOR=L1,L2,...``: the stream's level, moved by the mean correctness reward (GRPO)."""
    curriculum_threshold: float = 0.8
    curriculum_lower: float | None = None
    curriculum_window: int = 32
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    vllm_server_base_url: str | None = None
    resume: bool = False
    merge: bool = False
    progress: bool = True

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def check_resumable(self, folder: Path) -> None:
        """Refuse to resume a run whose recorded settings differ in anything but its length or its ending."""
        path = folder / CONFIG_FILE
        if not path.is_file():
            raise CrossmathError(f"nothing to resume in {folder} (no {CONFIG_FILE})")
        recorded = json.loads(path.read_text(encoding="utf-8"))["options"]
        mine = json.loads(json.dumps(self.record()))
        changed = sorted(f.name for f in fields(self) if f.name not in RESUMABLE
                         and recorded.get(f.name) != mine[f.name])
        if changed:
            raise CrossmathError(f"--resume with changed settings ({', '.join(changed)}); "
                                 "use the settings of the interrupted run or another --out")
