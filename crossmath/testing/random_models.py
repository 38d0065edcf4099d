"""Randomly initialised vision-language models, saved like any Hub checkpoint, for tests and throughput figures.

Weights cannot be downloaded on every machine, yet the evaluator must run the path a real model takes. These
builders make tiny models of four families (Qwen2-VL, LLaVA, Gemma 3 and Idefics3/SmolVLM style) with a tokenizer
trained on the spot, an image processor for small images and a chat template; :func:`random_from_config` makes a
full-size model from a real model's ``config.json`` for throughput measurements. Their outputs are junk text.
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
CORPUS = [
    "This is a cross-math puzzle: equations A op B = C read across and down and cross at shared numbers.",
    "Give the missing numbers in reading order, separated by single spaces: <answer>78 33 128 90</answer>",
    "0 1 2 3 4 5 6 7 8 9 10 42 128 + - × ÷ = ? | , [ ] \" user assistant system image",
]


def _tokenizer(special: list[str], vocab_size: int, **tokens: Any) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=raw, **tokens)


def tiny_qwen2_vl(path: str | Path, seed: int = 0) -> Path:
    """A Qwen2-VL-style model of a few hundred kB (its processor needs torchvision)."""
    import torch
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>", "<think>", "</think>"]
    tokenizer = _tokenizer(special, 320, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                           extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                                                 "vision_start_token": "<|vision_start|>",
                                                 "vision_end_token": "<|vision_end|>"},
                           chat_template=QWEN_TEMPLATE)
    pixels = dict(min_pixels=16 * 16, max_pixels=64 * 64, patch_size=4, temporal_patch_size=2, merge_size=2)
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(**pixels), tokenizer=tokenizer,
                                 video_processor=Qwen2VLVideoProcessor(**pixels), chat_template=QWEN_TEMPLATE)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
                         bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=True),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    return _save(model, processor, path)


def tiny_llava(path: str | Path, seed: int = 0) -> Path:
    """A LLaVA-style model (CLIP vision tower, Llama text model) of a few hundred kB."""
    import torch
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    special = ["<pad>", "<s>", "</s>", "<image>"]
    tokenizer = _tokenizer(special, 300, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                           extra_special_tokens={"image_token": "<image>"}, chat_template=LLAVA_TEMPLATE)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_TEMPLATE, image_token="<image>")
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    config = LlavaConfig(
        vision_config=dict(model_type="clip_vision_model", hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8, projection_dim=16),
        text_config=dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"]),
        image_token_index=ids["<image>"], vision_feature_select_strategy="default", vision_feature_layer=-1,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = ids["<pad>"]
    model.generation_config.eos_token_id = ids["</s>"]
    return _save(model, processor, path)


def tiny_gemma3(path: str | Path, seed: int = 0) -> Path:
    """A Gemma 3-style model (SigLIP vision tower, pooled image tokens, Gemma 3 text model) of a few hundred kB."""
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor, Gemma3Processor

    special = ["<pad>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
               "<image_soft_token>"]
    tokenizer = _tokenizer(special, 320, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                           extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                                                 "image_token": "<image_soft_token>"},
                           chat_template=GEMMA3_TEMPLATE)
    image_processor = Gemma3ImageProcessor(size={"height": 32, "width": 32}, do_pan_and_scan=False)
    processor = Gemma3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_length=4,
                                chat_template=GEMMA3_TEMPLATE)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    config = Gemma3Config(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=64,
                         max_position_embeddings=4096, bos_token_id=ids["<bos>"], eos_token_id=ids["<end_of_turn>"],
                         pad_token_id=ids["<pad>"]),
        vision_config=dict(model_type="siglip_vision_model", hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        mm_tokens_per_image=4, boi_token_index=ids["<start_of_image>"], eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config)
    model.generation_config.pad_token_id = ids["<pad>"]
    model.generation_config.eos_token_id = [ids["<end_of_turn>"], ids["<eos>"]]
    return _save(model, processor, path)


def tiny_idefics3(path: str | Path, seed: int = 0) -> Path:
    """An Idefics3/SmolVLM-style model (pixel-shuffled SigLIP-like vision tower, Llama text model) of a few hundred
    kB; its processor needs ``num2words``."""
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor, Idefics3Processor

    special = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
               "<global-img>", *[f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]]
    tokenizer = _tokenizer(special, 360, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                           pad_token="<|endoftext|>", chat_template=IDEFICS3_TEMPLATE)
    image_processor = Idefics3ImageProcessor(do_image_splitting=False, size={"longest_edge": 32},
                                             max_image_size={"longest_edge": 32})
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=4,
                                  chat_template=IDEFICS3_TEMPLATE)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    config = Idefics3Config(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        text_config=dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<end_of_utterance>"],
                         pad_token_id=ids["<|endoftext|>"]),
        scale_factor=2, image_token_id=ids["<image>"],
    )
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config)
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.eos_token_id = ids["<end_of_utterance>"]
    return _save(model, processor, path)


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
