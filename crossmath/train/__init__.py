"""crossmath-train: LoRA fine-tuning (SFT or GRPO) of vision-language models on a crossmath train split."""
