"""Randomly initialised vision-language models, saved like any Hub checkpoint, for tests and throughput figures.

Weights cannot be downloaded on every machine, yet the evaluator must run the path a real model takes. These
builders make tiny models of seven families (Qwen2-VL, Qwen2.5-VL, Qwen3.5, LLaVA, Gemma 3, Idefics3/SmolVLM and
PaliGemma style) with a tokenizer trained on the spot, an image processor for small images and a chat template;
:func:`random_from_config` makes a full-size model from a real model's ``config.json`` for throughput measurements.
Their outputs are junk text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking %}<think>\n{% endif %}{% endif %}"
)
LLAVA_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() }}: {% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
GEMMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ 'model' if message['role'] == 'assistant' "
    "else message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<start_of_image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
IDEFICS3_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)
PALIGEMMA_TEMPLATE = (
    "{% for message in messages %}{% if message['content'] is not string %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% endif %}{% endfor %}{% endif %}{% endfor %}"
    "{% for message in messages %}{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{% endfor %}"
)
CORPUS = [
    "This is a cross-math puzzle: equations A op B = C read across and down and cross at shared numbers.",
    "Give the missing numbers in reading order, separated by single spaces: <answer>78 33 128 90</answer>",
    "0 1 2 3 4 5 6 7 8 9 10 42 128 + - × ÷ = ? | , [ ] \" user assistant system image",
]


def _tokenizer(special: list[str], vocab_size: int, **tokens: Any) -> tuple[Any, dict[str, int]]:
    """A byte-level BPE tokenizer trained on :data:`CORPUS` and the ids of its special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(CORPUS, trainer)
    tokenizer: Any = PreTrainedTokenizerFast(tokenizer_object=raw, **tokens)
    return tokenizer, {token: tokenizer.convert_tokens_to_ids(token) for token in special}


def _text_config(tokenizer: Any, bos: int, eos: int, pad: int, **settings: Any) -> dict[str, Any]:
    """The text model every tiny model shares (two layers of width 32), with the family's own ``settings``."""
    return dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad,
                **settings)


def _vision_config(**settings: Any) -> dict[str, Any]:
    """The one-layer vision tower of width 16 on 32-pixel images that the non-Qwen tiny models share."""
    return dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32,
                patch_size=8, **settings)


def _qwen_tokenizer() -> tuple[Any, dict[str, int]]:
    """The tokenizer of the Qwen-style models and the ids of its special tokens."""
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>", "<think>", "</think>"]
    return _tokenizer(special, 320, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                      extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                                            "vision_start_token": "<|vision_start|>",
                                            "vision_end_token": "<|vision_end|>"},
                      chat_template=QWEN_TEMPLATE)


def _qwen_parts(processor_class: Any, video_processor_class: Any,
                **pixels: Any) -> tuple[Any, dict[str, int], Any, dict[str, Any]]:
    """What the Qwen-style models share: the tokenizer and its special ids, a processor for small images, and the
    config arguments naming the image, video and vision boundary tokens."""
    from transformers import Qwen2VLImageProcessor

    tokenizer, ids = _qwen_tokenizer()
    processor = processor_class(image_processor=Qwen2VLImageProcessor(**pixels), tokenizer=tokenizer,
                                video_processor=video_processor_class(**pixels), chat_template=QWEN_TEMPLATE)
    tokens: dict[str, Any] = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    return tokenizer, ids, processor, tokens


def _qwen_text_config(tokenizer: Any, ids: dict[str, int], **settings: Any) -> dict[str, Any]:
    return _text_config(tokenizer, ids["<|im_start|>"], ids["<|im_end|>"], ids["<|endoftext|>"],
                        max_position_embeddings=4096, **settings)


_QWEN2_PIXELS = dict(min_pixels=16 * 16, max_pixels=64 * 64, patch_size=4, temporal_patch_size=2, merge_size=2)
_QWEN2_ROPE = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}


def _build(model_class: Any, config: Any, processor: Any, path: str | Path, seed: int, pad: int,
           eos: int | list[int]) -> Path:
    """Initialise ``model_class`` from ``config`` under ``seed``, set the ids generation pads and stops with, save."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config.pad_token_id = pad
    model.generation_config.eos_token_id = eos
    return _save(model, processor, path)


def tiny_qwen2_vl(path: str | Path, seed: int = 0) -> Path:
    """A Qwen2-VL-style model of a few hundred kB (its processor needs torchvision)."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor, Qwen2VLVideoProcessor

    tokenizer, ids, processor, tokens = _qwen_parts(Qwen2VLProcessor, Qwen2VLVideoProcessor, **_QWEN2_PIXELS)
    config = Qwen2VLConfig(
        text_config=_qwen_text_config(tokenizer, ids, rope_parameters=_QWEN2_ROPE, tie_word_embeddings=True),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        **tokens,
    )
    return _build(Qwen2VLForConditionalGeneration, config, processor, path, seed, ids["<|endoftext|>"],
                  ids["<|im_end|>"])


def tiny_qwen2_5_vl(path: str | Path, seed: int = 0) -> Path:
    """A Qwen2.5-VL-style model (windowed vision attention, SwiGLU vision blocks) of a few hundred kB."""
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer, ids, processor, tokens = _qwen_parts(Qwen2_5_VLProcessor, Qwen2VLVideoProcessor, **_QWEN2_PIXELS)
    config = Qwen2_5_VLConfig(
        text_config=_qwen_text_config(tokenizer, ids, rope_parameters=_QWEN2_ROPE, tie_word_embeddings=True),
        vision_config=dict(depth=2, hidden_size=16, intermediate_size=32, num_heads=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2, window_size=16, out_hidden_size=32,
                           fullatt_block_indexes=[1], in_channels=3),
        **tokens,
    )
    return _build(Qwen2_5_VLForConditionalGeneration, config, processor, path, seed, ids["<|endoftext|>"],
                  ids["<|im_end|>"])


def tiny_qwen3_5(path: str | Path, seed: int = 0) -> Path:
    """A Qwen3.5-style model (linear-attention and full-attention layers, learned vision positions) of a few hundred
    kB. Without ``flash-linear-attention`` and ``causal-conv1d`` transformers runs its reference PyTorch kernels."""
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration, Qwen3VLProcessor, Qwen3VLVideoProcessor

    tokenizer, ids, processor, tokens = _qwen_parts(
        Qwen3VLProcessor, Qwen3VLVideoProcessor, size={"shortest_edge": 16 * 16, "longest_edge": 64 * 64},
        patch_size=4, temporal_patch_size=2, merge_size=2)
    config = Qwen3_5Config(
        text_config=_qwen_text_config(
            tokenizer, ids, head_dim=16, linear_key_head_dim=8, linear_value_head_dim=8, linear_num_key_heads=2,
            linear_num_value_heads=2, layer_types=["linear_attention", "full_attention"],
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 1, 1],
                             "partial_rotary_factor": 0.5}),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=32, num_position_embeddings=16),
        tie_word_embeddings=True,
        **tokens,
    )
    return _build(Qwen3_5ForConditionalGeneration, config, processor, path, seed, ids["<|endoftext|>"],
                  ids["<|im_end|>"])


def tiny_llava(path: str | Path, seed: int = 0) -> Path:
    """A LLaVA-style model (CLIP vision tower, Llama text model) of a few hundred kB."""
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tokenizer, ids = _tokenizer(["<pad>", "<s>", "</s>", "<image>"], 300, bos_token="<s>", eos_token="</s>",
                                pad_token="<pad>", extra_special_tokens={"image_token": "<image>"},
                                chat_template=LLAVA_TEMPLATE)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_TEMPLATE, image_token="<image>")
    config = LlavaConfig(
        vision_config=_vision_config(model_type="clip_vision_model", projection_dim=16),
        text_config=_text_config(tokenizer, ids["<s>"], ids["</s>"], ids["<pad>"], model_type="llama"),
        image_token_index=ids["<image>"], vision_feature_select_strategy="default", vision_feature_layer=-1,
    )
    return _build(LlavaForConditionalGeneration, config, processor, path, seed, ids["<pad>"], ids["</s>"])


def tiny_gemma3(path: str | Path, seed: int = 0) -> Path:
    """A Gemma 3-style model (SigLIP vision tower, pooled image tokens, Gemma 3 text model) of a few hundred kB."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor, Gemma3Processor

    special = ["<pad>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
               "<image_soft_token>"]
    tokenizer, ids = _tokenizer(special, 320, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                                                      "image_token": "<image_soft_token>"},
                                chat_template=GEMMA3_TEMPLATE)
    image_processor = Gemma3ImageProcessor(size={"height": 32, "width": 32}, do_pan_and_scan=False)
    processor = Gemma3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_length=4,
                                chat_template=GEMMA3_TEMPLATE)
    config = Gemma3Config(
        text_config=_text_config(tokenizer, ids["<bos>"], ids["<end_of_turn>"], ids["<pad>"], head_dim=16,
                                 sliding_window=64, max_position_embeddings=4096,
                                 layer_types=["sliding_attention", "full_attention"]),  # a window alone sees no puzzle
        vision_config=_vision_config(model_type="siglip_vision_model"),
        mm_tokens_per_image=4, boi_token_index=ids["<start_of_image>"], eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    return _build(Gemma3ForConditionalGeneration, config, processor, path, seed, ids["<pad>"],
                  [ids["<end_of_turn>"], ids["<eos>"]])


def tiny_idefics3(path: str | Path, seed: int = 0) -> Path:
    """An Idefics3/SmolVLM-style model (pixel-shuffled SigLIP-like vision tower, Llama text model) of a few hundred
    kB; its processor needs ``num2words``."""
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor, Idefics3Processor

    special = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
               "<global-img>", *[f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]]
    tokenizer, ids = _tokenizer(special, 360, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                                pad_token="<|endoftext|>", chat_template=IDEFICS3_TEMPLATE)
    image_processor = Idefics3ImageProcessor(do_image_splitting=False, size={"longest_edge": 32},
                                             max_image_size={"longest_edge": 32})
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=4,
                                  chat_template=IDEFICS3_TEMPLATE)
    config = Idefics3Config(
        vision_config=_vision_config(),
        text_config=_text_config(tokenizer, ids["<|im_start|>"], ids["<end_of_utterance>"], ids["<|endoftext|>"],
                                 model_type="llama"),
        scale_factor=2, image_token_id=ids["<image>"],
    )
    return _build(Idefics3ForConditionalGeneration, config, processor, path, seed, ids["<|endoftext|>"],
                  ids["<end_of_utterance>"])


def tiny_paligemma(path: str | Path, seed: int = 0) -> Path:
    """A PaliGemma-style model (SigLIP vision tower, Gemma text model, image tokens before the prompt) of a few
    hundred kB. Like PaliGemma, its processor takes no prompt without an image."""
    from transformers import (
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipImageProcessor,
    )

    tokenizer, ids = _tokenizer(["<pad>", "<bos>", "<eos>", "<image>"], 300, bos_token="<bos>", eos_token="<eos>",
                                pad_token="<pad>", extra_special_tokens={"image_token": "<image>"},
                                chat_template=PALIGEMMA_TEMPLATE)
    image_processor = SiglipImageProcessor(size={"height": 32, "width": 32}, image_seq_length=16)  # (32 / 8) ** 2
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                   chat_template=PALIGEMMA_TEMPLATE)
    config = PaliGemmaConfig(
        vision_config=_vision_config(model_type="siglip_vision_model", projection_dim=32),
        text_config=_text_config(tokenizer, ids["<bos>"], ids["<eos>"], ids["<pad>"], model_type="gemma",
                                 head_dim=16),
        image_token_index=ids["<image>"], projection_dim=32,
    )
    return _build(PaliGemmaForConditionalGeneration, config, processor, path, seed, ids["<pad>"], ids["<eos>"])


def random_from_config(config_dir: str | Path, path: str | Path, dtype: str = "bfloat16", seed: int = 0,
                       device: str = "cpu") -> Path:
    """A full-size, randomly initialised model from a real model's saved config and processor files.

    ``config_dir`` holds ``config.json`` and the processor and tokenizer files (no weights needed). ``device="cuda"``
    initialises the weights on the GPU: seconds for a 2B model, where the CPU takes minutes.
    """
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    config = AutoConfig.from_pretrained(config_dir)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=getattr(torch, dtype))
    return _save(model, AutoProcessor.from_pretrained(config_dir), path)


def _save(model: Any, processor: Any, path: str | Path) -> Path:
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    (path / "crossmath_random_model.json").write_text(json.dumps({"note": "random weights, junk outputs"}) + "\n")
    return path
