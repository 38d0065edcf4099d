"""The base model as the evaluator loads it, the check that it can read the modality trained, and its LoRA setup."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crossmath.errors import CrossmathError

if TYPE_CHECKING:
    from peft import LoraConfig


def check_fits(model: str, modality: str, trust_remote_code: bool = False) -> None:
    """Refuse, in one line, a model that ``crossmath-eval`` could not load or that cannot read the images the
    modality needs (a text-only model)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise CrossmathError(f"cannot load model {model!r}: {str(exc).splitlines()[0]}") from None
    if config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES or getattr(config, "vision_config", None):
        return
    kind = ", ".join(getattr(config, "architectures", None) or [config.model_type])
    if modality == "text":
        raise CrossmathError(f"{model} is a text-only model ({kind}); crossmath-eval loads image-text-to-text "
                             "models, so an adapter trained on it could not be evaluated")
    raise CrossmathError(f"{model} is a text-only model ({kind}) and cannot read the images that --modality "
                         f"{modality} needs; use a vision-language model")


def check_target_modules(model: str, targets: Sequence[str], trust_remote_code: bool = False) -> None:
    """Refuse ``--target-modules`` names that match no module of the model, as peft matches them (a module's name,
    or the end of its dotted path), from the model's skeleton on the meta device: no weights are loaded."""
    if not targets or list(targets) == ["all-linear"]:
        return
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    try:
        config = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
        with torch.device("meta"):
            skeleton = AutoModelForImageTextToText.from_config(config, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, ImportError, RuntimeError):  # loading the model says why, in one line
        return
    names = [name for name, _ in skeleton.named_modules()]
    unknown = [t for t in targets if not any(name == t or name.endswith("." + t) for name in names)]
    if unknown:
        raise CrossmathError(f"--target-modules {', '.join(unknown)}: no module of {model} has that name; its "
                             f"linear layers are {', '.join(sorted(_linear_names(skeleton)))}")


def load_base(model: str, *, dtype: str, device_map: str | None, attn_implementation: str | None,
              trust_remote_code: bool) -> tuple[Any, Any]:
    """Model and processor, loaded the way ``crossmath-eval run`` loads them (left padding, which GRPO's
    generation needs; TRL's SFT collator sets the padding side of each part itself)."""
    from crossmath.eval.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(model, dtype=dtype, device_map=device_map,
                                  attn_implementation=attn_implementation, trust_remote_code=trust_remote_code)
    return backend.model, backend.processor


def _linear_names(module: Any) -> set[str]:
    import torch

    return {name.rsplit(".", 1)[-1] for name, child in module.named_modules() if isinstance(child, torch.nn.Linear)}


def default_targets(model: Any, train_vision: bool = False) -> str:
    """A peft ``target_modules`` pattern: every linear layer of the language model (attention and MLP
    projections), and with ``train_vision`` those of the vision tower and projector too; never ``lm_head``."""
    decoder = model.get_decoder()
    prefixes = {id(child): name for name, child in model.named_modules()}
    scopes = {prefixes[id(decoder)]: decoder}
    if train_vision:
        inner = model.get_submodule(prefixes[id(decoder)].rsplit(".", 1)[0]) if "." in prefixes[id(decoder)] \
            else model
        scopes.update({prefixes[id(child)]: child for child in inner.children()
                       if child is not decoder and _linear_names(child)})
    leaves = sorted(set().union(*(_linear_names(scope) for scope in scopes.values())))
    scope = "|".join(re.escape(name) for name in sorted(scopes))
    return rf"(?:{scope})\..*\.(?:{'|'.join(map(re.escape, leaves))})"


def lora_config(model: Any, *, r: int, alpha: int, dropout: float, target_modules: Sequence[str] | None,
                train_vision: bool) -> LoraConfig:
    """The peft LoRA configuration of a causal-LM task."""
    from peft import LoraConfig

    targets: str | list[str]
    if target_modules:
        targets = target_modules[0] if list(target_modules) == ["all-linear"] else list(target_modules)
    else:
        targets = default_targets(model, train_vision)
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
