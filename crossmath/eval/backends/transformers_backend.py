"""The transformers engine: ``AutoProcessor`` + ``AutoModelForImageTextToText``, optionally with a peft LoRA
adapter, batched generation with left padding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crossmath.eval.backends.base import BackendError, Generation, Sampling
from crossmath.eval.prompts import Prompt


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_model_path(model: str) -> None:
    """Refuse a local model path that does not exist (checked before torch loads, so a typo fails at once)."""
    if (model.startswith((".", "/", "~")) or Path(model).is_absolute()) and not Path(model).expanduser().exists():
        raise BackendError(f"cannot load model {model!r}: no such folder")  # not worth asking the Hub about


def check_adapter_path(adapter: str) -> None:
    """Refuse an adapter folder without ``adapter_config.json`` (checked before torch loads)."""
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise BackendError(f"{adapter} is not a LoRA adapter folder (no adapter_config.json)")


def model_revision(model: str) -> str | None:
    """The commit hash of the Hub snapshot a model loads from (a Hub id in the cache, or a snapshot folder);
    None for a plain local folder."""
    from huggingface_hub import try_to_load_from_cache

    path = Path(model).expanduser()
    if not path.exists():
        cached = try_to_load_from_cache(model, "config.json")
        if not isinstance(cached, str):
            return None
        path = Path(cached).parent
    resolved = path.resolve()
    return resolved.name if resolved.parent.name == "snapshots" else None


def _same_model(recorded: str, given: str) -> bool:
    """Whether an adapter's recorded base names the given model (a Hub id, or a local folder of it)."""
    recorded, given = recorded.rstrip("/"), given.rstrip("/")
    if recorded == given:
        return True
    paths = [Path(name) for name in (recorded, given)]
    if all(path.exists() for path in paths):
        return paths[0].resolve() == paths[1].resolve()
    # a local copy of a Hub model: compare the folder name with the repo name
    return paths[0].name == paths[1].name and any(path.exists() for path in paths)


class TransformersBackend:
    """Runs any image-text-to-text model of transformers."""

    def __init__(self, model: str, *, adapter: str | None = None, merge_adapter: bool = False, dtype: str = "auto",
                 device_map: str | None = "auto", attn_implementation: str | None = None,
                 trust_remote_code: bool = False) -> None:
        check_model_path(model)
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.model_name, self.adapter = model, adapter
        try:
            self.processor = AutoProcessor.from_pretrained(model, trust_remote_code=trust_remote_code)
            kwargs: dict[str, Any] = {"dtype": dtype if dtype == "auto" else getattr(torch, dtype),
                                      "trust_remote_code": trust_remote_code}
            if device_map not in (None, "none"):
                kwargs["device_map"] = device_map
            if attn_implementation:
                kwargs["attn_implementation"] = attn_implementation
            self.model = AutoModelForImageTextToText.from_pretrained(model, **kwargs)
        except (OSError, ValueError, AttributeError, ImportError, RuntimeError, AssertionError) as exc:
            # also a device or attention kernel that this machine lacks (CUDA, flash-attention): one line, no trace
            raise BackendError(f"cannot load model {model!r}: {_first_line(exc)}") from None
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"  # not saved with the tokenizer; batched generation needs it
        if adapter:
            self.model = self._with_adapter(adapter, merge_adapter)
        self.model.eval()

    def _with_adapter(self, adapter: str, merge: bool) -> Any:
        from peft import PeftModel

        check_adapter_path(adapter)
        base = json.loads((Path(adapter) / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
        if base and not _same_model(base, self.model_name):
            raise BackendError(f"adapter {adapter} was trained on {base!r}, not on {self.model_name!r}")
        try:
            model = PeftModel.from_pretrained(self.model, adapter)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise BackendError(f"adapter {adapter} does not fit {self.model_name!r}: "
                               f"{str(exc).splitlines()[0]}") from None
        return model.merge_and_unload() if merge else model

    def encode(self, prompts: Sequence[Prompt], thinking: bool = False) -> Any:
        """The model inputs of a batch: chat templates applied, left-padded, images processed."""
        options = {"enable_thinking": True} if thinking else {}
        if thinking and "enable_thinking" not in str(self.processor.chat_template):
            raise BackendError(f"the chat template of {self.model_name} has no thinking switch (enable_thinking)")
        texts = [self.processor.apply_chat_template(p.messages, tokenize=False, add_generation_prompt=True, **options)
                 for p in prompts]
        with_image = [p.image is not None for p in prompts]
        if any(with_image) and not all(with_image):
            raise BackendError("a batch mixes prompts with and without images")
        # one list of images per prompt: the form every family's processor takes (Gemma 3 and Idefics3 need it)
        images = [[p.image] for p in prompts] if all(with_image) else None
        inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True)
        return inputs.to(self.model.device)

    def refusal(self, prompt: Prompt) -> str | None:
        """Why this model's processor refuses prompts like ``prompt`` (encoded, never generated from); None when
        it takes them."""
        try:
            self.encode([prompt])
        except BackendError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            return _first_line(exc)
        return None

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling,
                 seed: int) -> list[tuple[int | None, list[Generation]]]:
        import torch

        inputs = self.encode(prompts, sampling.thinking)
        # transformers refuses greedy decoding with several return sequences; greedy samples are identical anyway
        copies = 1 if sampling.greedy else sampling.num_samples
        options: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens, "num_return_sequences": copies,
                                   "pad_token_id": self.tokenizer.pad_token_id}
        if sampling.min_new_tokens:
            options["min_new_tokens"] = sampling.min_new_tokens
        if sampling.greedy:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            options.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        torch.manual_seed(seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **options)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        eos = set(self._stop_ids())
        results: list[tuple[int | None, list[Generation]]] = []
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        for i, length in enumerate(prompt_lengths):
            rows = new_tokens[i * copies:(i + 1) * copies].tolist()
            generations = []
            for row in rows:
                stop = next((k + 1 for k, token in enumerate(row) if token in eos), None)
                count = stop or len(row)
                text = self.tokenizer.decode(row[:count], skip_special_tokens=True)
                generations.append(Generation(text, count, truncated=stop is None))
            results.append((int(length), (generations * sampling.num_samples)[:sampling.num_samples]
                            if copies == 1 else generations))
        return results

    def _stop_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        ids = list(eos) if isinstance(eos, list) else [eos] if eos is not None else []
        if self.tokenizer.pad_token_id is not None:
            ids.append(self.tokenizer.pad_token_id)
        return ids

    def describe(self) -> dict[str, Any]:
        import torch
        import transformers

        versions = {"transformers": transformers.__version__, "torch": torch.__version__}
        if self.adapter:
            import peft

            versions["peft"] = peft.__version__
        return {"engine": "transformers", "model": self.model_name, "adapter": self.adapter,
                "model_revision": model_revision(self.model_name),
                "device": str(self.model.device), "dtype": str(self.model.dtype), "versions": versions}
