"""crossmath-eval's running side: any Hugging Face VLM (optionally with LoRA) or any OpenAI-compatible server, in
text, image or hybrid mode, writing one run folder per model, style and modality, scored with the published
metrics. Reads built datasets or published JSONL files, never the generator. Reports over run folders live in
``crossmath.report``; the ``crossmath-eval`` command line (``crossmath.eval.cli``) sits above both."""
