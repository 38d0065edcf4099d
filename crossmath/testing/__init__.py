"""Helpers for testing code that uses crossmath, as ``numpy.testing`` is for numpy: ``answer_server``, a real
OpenAI-compatible HTTP server on 127.0.0.1 that answers from a dataset and injects faults on request, and
``random_models``, tiny transformers models with random weights in the shapes of the families crossmath runs.
crossmath's own tests use both; nothing in the product path imports them."""
