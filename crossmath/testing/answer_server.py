"""A small OpenAI-compatible chat server on 127.0.0.1 that answers crossmath puzzles from a dataset's answers, for
tests and throughput figures of the OpenAI engine (no model, no network beyond the loopback).

It recognises the puzzle of a request by its text (text and hybrid prompts) or by its image's pixels (image
prompts), replies ``<answer>...</answer>`` after a fixed delay, reports usage, serves ``GET /v1/models`` and
takes ``n`` (or refuses it, as some servers do). Faults are injected per puzzle: a list of ``429`` (with
``Retry-After``), ``500``, ``slow`` (a reply after ``slow_seconds``, unless the client gives up first),
``malformed`` (a 200 with broken JSON) or ``drop`` (the connection closed without a reply), used up one per
request, or ``always`` (a 500 on every request while it stays in the plan). ``replies`` gives a puzzle a fixed
reply instead of its answer (a wrong one, reasoning, a reply cut off inside its ``<answer>`` tag, which is sent
with ``finish_reason: length`` as a server's reply cut off by its token limit is). The server never applies a
``stop`` it is sent (it records it in ``stats.bodies``).

``python -m crossmath.testing.answer_server DATASET`` serves it from the command line with the same faults
(``--fault``, ``--fail-every``, ``--rate-limit``, ``--delay``, ...; see ``--help``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import select
import socket
import sys
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
                 accepts_n: bool = True, replies: dict[str, str] | None = None, port: int = 0) -> None:
        self.model, self.delay, self.slow_seconds, self.retry_after = model, delay, slow_seconds, retry_after
        self.faults = faults or {}
        self.replies = replies or {}
        self.asked = threading.Event()
        """Set at the first chat request: a readiness signal for tests that start a second client meanwhile."""
        self.gate = threading.Event()
        """Replies wait while this is clear (``server.gate.clear()`` holds them back, at most a minute)."""
        self.gate.set()
        self.stats = ServerStats()
        self.lock = threading.Lock()
        self.by_text: dict[str, EvalItem] = {}
        self.by_image: dict[str, EvalItem] = {}
        for item in items:
            for text in item.texts.values():
                self.by_text[text] = item
            self.by_image[_pixels(item.image())] = item
        self.accepts_n = accepts_n
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())  # port 0: any free one
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
        self.asked.set()
        self.gate.wait(timeout=60)
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
        reply = self.replies.get(item.id, f"The missing numbers are found. <answer>{' '.join(item.answer)}</answer>")
        words = reply.split(" ")
        limit = int(request.get("max_tokens") or len(words))  # a word is a token here
        text = " ".join(words[:limit])
        finish = "length" if limit < len(words) or text.count("<answer>") > text.count("</answer>") else "stop"
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


FAULTS = ("429", "500", "slow", "malformed", "drop", "always")
"""The faults a puzzle's plan may hold."""


def _fault_plan(text: str) -> tuple[str, list[str]]:
    import argparse

    puzzle, _, kinds = text.partition("=")
    plan = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    unknown = [kind for kind in plan if kind not in FAULTS]
    if not puzzle or not plan or unknown:
        raise argparse.ArgumentTypeError(f"expected PUZZLE=FAULT[,FAULT...] with faults among {', '.join(FAULTS)}; "
                                         f"got {text!r}")
    return puzzle, plan


def fault_plans(ids: list[str], every: dict[str, int], plans: list[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """The fault plans of the command line: for each fault and N in ``every``, the first request for every Nth
    puzzle (in dataset order) gets that fault; then each ``(puzzle, plan)`` is appended to its puzzle's plan."""
    faults: dict[str, list[str]] = {}
    for kind, n in every.items():
        for puzzle in ids[n - 1::n]:
            faults.setdefault(puzzle, []).append(kind)
    for puzzle, plan in plans:
        faults.setdefault(puzzle, []).extend(plan)
    return faults


def main(argv: list[str] | None = None) -> int:
    """Serve a dataset's answers until interrupted: ``python -m crossmath.testing.answer_server DATASET``; prints
    the URL to pass as ``--base-url`` once it serves."""
    import argparse

    from crossmath._cli import positive_int, run_cli

    parser = argparse.ArgumentParser(prog="python -m crossmath.testing.answer_server", description=main.__doc__)
    parser.add_argument("dataset")
    parser.add_argument("--style", default="original", help="config to serve (default original)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", default=AnswerServer.MODEL, help=f"model name served (default {AnswerServer.MODEL})")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--fail-every", type=positive_int, metavar="N",
                        help="a 500 on the first request for every Nth puzzle")
    parser.add_argument("--rate-limit", type=positive_int, metavar="N",
                        help="a 429 (with Retry-After) on the first request for every Nth puzzle")
    parser.add_argument("--fault", type=_fault_plan, action="append", default=[], metavar="PUZZLE=FAULT,...",
                        help=f"a puzzle's faults, one per request, in order ({', '.join(FAULTS)}); repeatable")
    parser.add_argument("--retry-after", default="0.2", help="the Retry-After of a 429 (default 0.2 s)")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="the wait of a slow reply (default 2 s)")
    parser.add_argument("--no-n", action="store_true", help="refuse requests for n > 1 replies, as some servers do")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.set_defaults(run=_serve)
    return run_cli(parser, argv)


def _serve(args: Any) -> int:
    from crossmath.eval.sources import load_items

    items = load_items(args.dataset, args.style, args.split)
    every = {kind: n for kind, n in (("500", args.fail_every), ("429", args.rate_limit)) if n}
    faults = fault_plans([item.id for item in items], every, args.fault)
    with AnswerServer(items, model=args.model, delay=args.delay, faults=faults, slow_seconds=args.slow_seconds,
                      retry_after=args.retry_after, accepts_n=not args.no_n, port=args.port) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
