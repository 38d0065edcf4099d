"""A small OpenAI-compatible chat server on 127.0.0.1 that answers crossmath puzzles from a dataset's answers, for
tests and throughput figures of the OpenAI engine (no model, no network beyond the loopback).

It recognises the puzzle of a request by its text (text and hybrid prompts) or by its image's pixels (image
prompts), replies ``<answer>...</answer>`` after a fixed delay, reports usage, serves ``GET /v1/models`` and
takes ``n`` (or refuses it, as some servers do). Faults are injected per puzzle: a list of ``429`` (with
``Retry-After``), ``500``, ``slow`` (a reply after ``slow_seconds``, unless the client gives up first),
``malformed`` (a 200 with broken JSON) or ``drop`` (the connection closed without a reply), used up one per
request, or ``always`` (a 500 on every request while it stays in the plan).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from crossmath.eval.sources import EvalItem


def _pixels(image: Image.Image) -> str:
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


@dataclass
class ServerStats:
    """What the server saw: requests, the most in flight at once, usage it reported, authorization headers,
    image URL kinds and request bodies (without their messages)."""

    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    by_puzzle: dict[str, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    image_urls: set[str] = field(default_factory=set)
    """How image URLs began (``data:image/png;base64``)."""
    bodies: list[dict[str, Any]] = field(default_factory=list)


class AnswerServer:
    """``with AnswerServer(items) as server:`` serves ``server.url`` (``http://127.0.0.1:PORT/v1``) until the block
    ends; ``server.faults`` maps a puzzle id to its fault plan and may be changed between runs."""

    MODEL = "crossmath-answers"
    """The model name it serves by default."""

    def __init__(self, items: Iterable[EvalItem], *, model: str = MODEL, delay: float = 0.0,
                 faults: dict[str, list[str]] | None = None, slow_seconds: float = 2.0, retry_after: str = "0.2",
                 accepts_n: bool = True) -> None:
        self.model, self.delay, self.slow_seconds, self.retry_after = model, delay, slow_seconds, retry_after
        self.faults = faults or {}
        self.stats = ServerStats()
        self.lock = threading.Lock()
        self.by_text: dict[str, EvalItem] = {}
        self.by_image: dict[str, EvalItem] = {}
        for item in items:
            for text in item.texts.values():
                self.by_text[text] = item
            self.by_image[_pixels(item.image())] = item
        self.accepts_n = accepts_n
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> AnswerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def puzzle_of(self, messages: list[dict[str, Any]]) -> EvalItem | None:
        """The puzzle a request asks about: by its text where it has one, else by its image's pixels."""
        parts = [part for message in messages for part in (message["content"] if isinstance(message["content"], list)
                                                           else [{"type": "text", "text": message["content"]}])]
        for part in parts:
            if part["type"] == "text":
                found = next((item for text, item in self.by_text.items() if text and text in part["text"]), None)
                if found is not None:
                    return found
        for part in parts:
            if part["type"] == "image_url":
                kind, data = part["image_url"]["url"].split(",", 1)
                with self.lock:
                    self.stats.image_urls.add(kind)
                found = self.by_image.get(_pixels(Image.open(io.BytesIO(base64.b64decode(data)))))
                if found is not None:
                    return found
        return None

    def next_fault(self, puzzle: str) -> str | None:
        with self.lock:
            plan = self.faults.get(puzzle) or []
            if plan and plan[0] == "always":
                return "500"
            return plan.pop(0) if plan else None

    def reply(self, request: dict[str, Any], client_gone: Callable[[float], bool]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one chat request (status 0: no reply). ``client_gone(s)`` waits up to s
        seconds and says whether the client closed the connection meanwhile (it gave up on a slow reply)."""
        item = self.puzzle_of(request["messages"])
        if item is None:
            return 400, {}, json.dumps({"error": {"message": "no crossmath puzzle in the request"}}).encode()
        with self.lock:
            self.stats.by_puzzle[item.id] = self.stats.by_puzzle.get(item.id, 0) + 1
        fault = self.next_fault(item.id)
        time.sleep(self.delay)
        if fault == "drop":
            return 0, {}, b""
        if fault == "429":
            return 429, {"Retry-After": self.retry_after}, b'{"error": {"message": "rate limited"}}'
        if fault == "500":
            return 500, {}, b'{"error": {"message": "server error"}}'
        if fault == "malformed":
            return 200, {}, b'{"id": "x", "choices": [{"index": 0, "message": '
        if fault == "slow" and client_gone(self.slow_seconds):
            return 0, {}, b""  # no longer in flight: the client timed out and will retry
        n = int(request.get("n") or 1)
        if n > 1 and not self.accepts_n:
            return 400, {}, b'{"error": {"message": "n > 1 is not supported"}}'
        answer = " ".join(item.answer)
        words = f"The missing numbers are found. <answer>{answer}</answer>".split()
        limit = int(request.get("max_tokens") or len(words))  # a word is a token here
        text, finish = " ".join(words[:limit]), "stop" if limit >= len(words) else "length"
        prompt_tokens = len(json.dumps(request["messages"])) // 4
        completion_tokens = n * min(limit, len(words))
        with self.lock:
            self.stats.prompt_tokens += prompt_tokens
            self.stats.completion_tokens += completion_tokens
        body = {"id": "chatcmpl-crossmath", "object": "chat.completion", "created": 0, "model": self.model,
                "choices": [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                            for i in range(n)],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}
        return 200, {}, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out as separate writes: without this, Nagle's algorithm holds the body back
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def client_gone(self, seconds: float) -> bool:
                readable, _, _ = select.select([self.connection], [], [], seconds)
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": server.model, "object": "model", "created": 0, "owned_by": "crossmath",
                             "root": server.model}]
                    self._send(200, {}, json.dumps({"object": "list", "data": data}).encode())
                else:
                    self._send(404, {}, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length))
                with server.lock:
                    server.stats.requests += 1
                    server.stats.in_flight += 1
                    server.stats.max_in_flight = max(server.stats.max_in_flight, server.stats.in_flight)
                    server.stats.keys.add(self.headers.get("Authorization", ""))
                    server.stats.bodies.append({k: v for k, v in request.items() if k != "messages"})
                try:
                    status, headers, body = server.reply(request, self.client_gone)
                finally:
                    with server.lock:
                        server.stats.in_flight -= 1
                if status == 0:  # a dropped connection: no reply at all
                    self.close_connection = True
                    return
                self._send(status, headers, body)

        return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve a dataset's answers until interrupted: ``python -m crossmath.testing.answer_server DATASET``; prints
    the URL to pass as ``--base-url``."""
    import argparse

    from crossmath.eval.sources import load_items

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dataset")
    parser.add_argument("--style", default="original")
    parser.add_argument("--split", default="test")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    args = parser.parse_args(argv)
    with AnswerServer(load_items(args.dataset, args.style, args.split), delay=args.delay) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.thread.join()


if __name__ == "__main__":
    main()
