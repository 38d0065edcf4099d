"""The OpenAI-compatible engine: chat completion requests to any server that speaks the OpenAI API (vLLM, SGLang,
hosted APIs), through the official ``openai`` client.

Images travel as lossless PNG data URLs. At most ``concurrency`` requests are in flight; a request that meets a
rate limit (429), a server error (5xx), a timeout, a dropped connection or a malformed reply is retried up to
``max_retries`` times with exponential backoff and jitter, waiting at least what a ``Retry-After`` header asks. A
request that still fails gives replies with an ``error``, which the run records as failed (never as wrong).
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crossmath.eval.backends.base import BackendError, Generation, Sampling
from crossmath.eval.prompts import Prompt

BACKOFF_BASE = 0.5
"""Seconds before the first retry; each further retry doubles it (capped at :data:`BACKOFF_CAP`), times a random
factor in [0.5, 1)."""
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 120.0
"""The longest ``Retry-After`` wait honoured, in seconds."""


class RequestFailed(Exception):
    """A request that cannot succeed, or has used up its retries."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_data_url(prompt: Prompt) -> str:
    """A prompt's image as a ``data:image/png;base64,...`` URL: lossless, so the image carries what the text
    carries. A PNG file is sent as the dataset stores it; any other format is converted to PNG first."""
    data = prompt.image_file or b""
    if not data.startswith(PNG_SIGNATURE) and prompt.image is not None:
        buffer = io.BytesIO()
        prompt.image.save(buffer, format="PNG")
        data = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def api_messages(prompt: Prompt) -> list[dict[str, Any]]:
    """A prompt's chat messages in the OpenAI form, its image as an ``image_url`` part."""
    messages = []
    for message in prompt.messages:
        content = message["content"]
        if not isinstance(content, str):
            content = [{"type": "image_url", "image_url": {"url": png_data_url(prompt)}}
                       if part["type"] == "image" else part for part in content]
        messages.append({"role": message["role"], "content": content})
    return messages


SECRET_QUERY = re.compile(r"(?i)key|token|secret|password|sig|auth")
"""Query parameters whose values :func:`redact_url` hides."""


def redact_url(url: str) -> str:
    """A URL as it may be printed or stored in ``config.json``: a user name and password, and the values of query
    parameters that name a key, token or secret, replaced by ``***`` (the client still uses the URL as given)."""
    parts = urlsplit(url)
    netloc = "***@" + parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
    query = urlencode([(name, "***" if SECRET_QUERY.search(name) else value)
                       for name, value in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query if parts.query else ""))


def _not_json(name: str) -> Any:
    """Python's JSON reader takes NaN and Infinity; servers refuse them, so every request would fail."""
    raise BackendError(f"--extra-body holds {name}, which is not valid JSON; give a number")


def parse_extra_body(text: str | None) -> dict[str, Any]:
    """``--extra-body``: a JSON object merged into every request's body."""
    if not text:
        return {}
    try:
        value = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise BackendError(f"--extra-body is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(value, dict):
        raise BackendError("--extra-body must be a JSON object, e.g. '{\"top_k\": 20}'")
    return value


def _retry_wait(exc: Exception, attempt: int) -> float | None:
    """How long to wait before retrying after ``exc`` (None: do not retry)."""
    import openai

    backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt) * random.uniform(0.5, 1.0)
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code != 429 and exc.status_code < 500:
            return None  # a bad request, a wrong key or model: retrying cannot help
        header = exc.response.headers.get("retry-after")
        try:
            return max(backoff, min(RETRY_AFTER_CAP, float(header))) if header is not None else backoff
        except ValueError:
            return backoff
    return backoff  # timeouts, dropped connections, malformed replies


def _error_text(exc: Exception) -> str:
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message or "").strip()
        return f"HTTP {exc.status_code}: {message.splitlines()[0] if message else exc.response.reason_phrase}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


class OpenAIBackend:
    """Sends prompts to an OpenAI-compatible chat completions endpoint, ``concurrency`` at a time."""

    def __init__(self, model: str, *, base_url: str | None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, timeout: float = 600.0, max_retries: int = 5,
                 extra_body: dict[str, Any] | None = None) -> None:
        import openai

        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise BackendError("--backend openai needs --base-url (or OPENAI_BASE_URL), e.g. "
                               "http://localhost:8000/v1")
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(f"the base URL must start with http:// or https://, e.g. http://localhost:8000/v1; "
                               f"got {base_url!r}")
        # local servers (vLLM, SGLang) take any key; the key is never printed or stored
        self.client = openai.OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env) or "EMPTY",
                                    timeout=timeout, max_retries=0)
        self.model_name, self.base_url = model, redact_url(base_url)
        self.max_retries, self.extra_body = max_retries, extra_body or {}
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="crossmath-api")
        self.accepts_n = True
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server_model = self._server_model()

    def _server_model(self) -> dict[str, Any] | None:
        """The server's entry for the model (``GET /models``): what API runs record as the model's revision."""
        import openai

        try:
            models = list(self.client.models.list())
        except openai.APIConnectionError as exc:
            raise BackendError(f"cannot reach {self.base_url}: {_error_text(exc)}") from None
        except openai.AuthenticationError:
            raise BackendError(f"{self.base_url} refused the API key (HTTP 401)") from None
        except (openai.APIError, ValueError):
            return None  # servers without a model list still answer chat requests
        entry = next((m for m in models if m.id == self.model_name), None)
        if entry is None and models:
            raise BackendError(f"{self.base_url} does not serve {self.model_name!r}; it serves "
                               f"{', '.join(sorted(m.id for m in models)[:10])}")
        return entry.model_dump() if entry is not None else None

    def _call(self, request: Callable[[], Any]) -> Any:
        """One request with retries; raises :class:`RequestFailed` with the last error."""
        import openai

        for attempt in range(self.max_retries + 1):
            if self.stopping.is_set():
                raise RequestFailed("interrupted")
            try:
                completion = request()
                if not completion.choices or any(c.message is None for c in completion.choices):
                    raise ValueError("the reply has no choices")
                return completion
            except (openai.APIError, ValueError) as exc:  # ValueError: a malformed reply (bad JSON, no choices)
                wait = _retry_wait(exc, attempt)
                if wait is None or attempt == self.max_retries:
                    raise RequestFailed(_error_text(exc), getattr(exc, "status_code", None)) from None
                self.stopping.wait(wait)
        raise AssertionError("unreachable")

    def _request(self, prompt: Prompt, sampling: Sampling, seed: int, n: int) -> Callable[[], Any]:
        body = dict(self.extra_body)
        if sampling.thinking:
            body["chat_template_kwargs"] = {**body.get("chat_template_kwargs", {}), "enable_thinking": True}
        options: dict[str, Any] = {"model": self.model_name, "messages": api_messages(prompt),
                                   "max_tokens": sampling.max_new_tokens, "temperature": sampling.temperature,
                                   "top_p": sampling.top_p, "seed": seed, "extra_body": body or None}
        if n > 1:
            options["n"] = n
        return lambda: self.client.chat.completions.create(**options)

    def _one_prompt(self, prompt: Prompt, sampling: Sampling, seed: int) -> tuple[int | None, list[Generation]]:
        """Every sample of one prompt: one request with ``n`` where the server takes it, else one per sample."""
        n = sampling.num_samples
        if n > 1 and self.accepts_n:
            try:
                completion = self._call(self._request(prompt, sampling, seed, n))
                if len(completion.choices) == n:
                    return self._results([completion])
            except RequestFailed as exc:
                if exc.status != 400:
                    return self._results([str(exc)] * n)
            with self.lock:
                self.accepts_n = False  # the server ignores or refuses n: one request per sample from now on
        completions: list[Any] = []
        for sample in range(n):
            try:
                completions.append(self._call(self._request(prompt, sampling, seed + sample, 1)))
            except RequestFailed as exc:
                completions.append(str(exc))
        return self._results(completions)

    @staticmethod
    def _results(completions: list[Any]) -> tuple[int | None, list[Generation]]:
        prompt_tokens, generations = None, []
        for completion in completions:
            if isinstance(completion, str):
                generations.append(Generation("", None, error=completion))
                continue
            usage = completion.usage
            counts = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} \
                if usage is not None else None
            prompt_tokens = counts["prompt_tokens"] if counts else prompt_tokens
            single = len(completion.choices) == 1
            for index, choice in enumerate(completion.choices):
                generations.append(Generation(
                    choice.message.content or "", counts["completion_tokens"] if counts and single else None,
                    truncated=choice.finish_reason == "length", finish_reason=choice.finish_reason,
                    usage=counts if index == 0 else None))
        return prompt_tokens, generations

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling,
                 seed: int) -> list[tuple[int | None, list[Generation]]]:
        futures = [self.pool.submit(self._one_prompt, prompt, sampling, seed + 1000 * position)
                   for position, prompt in enumerate(prompts)]
        try:
            return [future.result() for future in futures]
        except BaseException:  # Ctrl-C: send nothing more and stop retrying, so the command exits at once
            self.stopping.set()
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise

    def describe(self) -> dict[str, Any]:
        import openai

        return {"engine": "openai", "model": self.model_name, "base_url": self.base_url,
                "server_model": self.server_model, "versions": {"openai": openai.__version__}}
