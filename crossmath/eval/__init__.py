"""crossmath-eval: any Hugging Face VLM (optionally with LoRA) or any OpenAI-compatible server, in text, image or
hybrid mode; scores with the published metrics; modality-gap reports. Reads built datasets or published JSONL
files, never the generator."""
