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

Planted parameters (``misread=p``) make it a model with a known reading: it reads each shown number wrongly with
probability p (drawn per puzzle and cell from ``seed``, the last digit swapped for a look-alike), transcribes
(an image prompt that says "transcribe") with those misreads, answers image prompts from its own reading, and
answers a text prompt from the table it was given: a blank is answered wrongly (its value plus one) exactly when
an equation through it holds a misread cell of that table, so every loss it shows is planted and explained by
misreading. With ``slip=s`` it also answers each blank of an image prompt wrongly with probability s (drawn per
puzzle and blank), a loss of reasoning over the image that its reading does not explain.
:meth:`AnswerServer.misreads` and :meth:`AnswerServer.slips` tell a test what was planted.

On a conflict config (:mod:`crossmath.dataset.conflict`), a hybrid request shows the image of puzzle A with the
text of its twin B. With ``q`` set, the server plants a reliance: at each blank where A and B differ it follows the
image (A's value) with probability ``q``, else the text (B's value), drawn from a hash of the puzzle, the request and
the blank, and records each choice in ``stats.planted``.

``python -m crossmath.testing.answer_server DATASET`` serves it from the command line with the same faults and
planted parameters (``--fault``, ``--fail-every``, ``--rate-limit``, ``--delay``, ``--misread``, ``--q``, ...; see
``--help``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import random
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from PIL import Image

from crossmath.eval.sources import EvalItem
from crossmath.eval.transcripts import blank_equation_cells, grid_text, kind_of, true_grid
from crossmath.puzzles.text import GRID_WRITERS

LOOK_ALIKE = {"0": "8", "1": "7", "2": "7", "3": "8", "4": "9", "5": "6", "6": "5", "7": "1", "8": "3", "9": "4"}
"""The digit a planted misreading puts in place of a number's last digit."""


def _pixels(image: Image.Image) -> str:
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


class Asked(NamedTuple):
    """What a request asks: the puzzle, whether from the server's own reading (an image, or a text prompt
    carrying that reading), whether from the image, and whether for a transcription."""

    item: EvalItem
    own_reading: bool
    image: bool
    transcribe: bool


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
    planted: dict[tuple[str, int, int], tuple[str, ...]] = field(default_factory=dict)
    """With ``q``: per (puzzle, request number, choice), ``image`` or ``text`` at each blank where A and B differ."""


def _shows_twin(messages: list[dict[str, Any]], item: EvalItem) -> bool:
    """Whether a request is a hybrid prompt on a conflict config: an image, and the text of the puzzle's twin."""
    parts = [part for message in messages if isinstance(message["content"], list) for part in message["content"]]
    texts = [part["text"] for part in parts if part["type"] == "text"]
    return any(part["type"] == "image_url" for part in parts) and any(
        twin and twin in text for twin in item.conflict_texts.values() for text in texts)


class AnswerServer:
    """``with AnswerServer(items) as server:`` serves ``server.url`` (``http://127.0.0.1:PORT/v1``) until the block
    ends; ``server.faults`` maps a puzzle id to its fault plan and may be changed between runs."""

    MODEL = "crossmath-answers"
    """The model name it serves by default."""

    def __init__(self, items: Iterable[EvalItem], *, model: str = MODEL, delay: float = 0.0,
                 faults: dict[str, list[str]] | None = None, slow_seconds: float = 2.0, retry_after: str = "0.2",
                 accepts_n: bool = True, misread: float = 0.0, slip: float = 0.0, seed: int = 0,
                 q: float | None = None, replies: dict[str, str] | None = None, port: int = 0) -> None:
        if q is not None and not 0 <= q <= 1:
            raise ValueError(f"q is a probability in [0, 1], not {q}")
        self.model, self.delay, self.slow_seconds, self.retry_after = model, delay, slow_seconds, retry_after
        self.q = q
        self.faults = faults or {}
        self.misread, self.slip, self.seed = misread, slip, seed
        self.replies = replies or {}
        self.asked = threading.Event()
        """Set at the first chat request: a readiness signal for tests that start a second client meanwhile."""
        self.gate = threading.Event()
        """Replies wait while this is clear (``server.gate.clear()`` holds them back, at most a minute)."""
        self.gate.set()
        self.stats = ServerStats()
        self.lock = threading.Lock()
        self.by_text: dict[str, tuple[EvalItem, bool]] = {}
        """A table's text -> its puzzle, and whether the table is the server's own (mis)reading of it."""
        self.by_image: dict[str, EvalItem] = {}
        self.readings: dict[str, list[list[str]]] = {}
        self.items: dict[str, EvalItem] = {}
        for item in items:
            self.items[item.id] = item
            self.readings[item.id] = self._reading(item)
            for writer in GRID_WRITERS.values():
                self.by_text[writer(self.readings[item.id])] = (item, True)
            for text in (*item.texts.values(), *item.conflict_texts.values()):
                self.by_text[text] = (item, False)
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

    def _reading(self, item: EvalItem) -> list[list[str]]:
        """The grid as the planted model reads it: each shown number misread with probability ``misread``."""
        grid = true_grid(item.texts["markdown"])
        for r, row in enumerate(grid):
            for c, text in enumerate(row):
                if text and kind_of(text) == "numbers" \
                        and random.Random(f"{self.seed}:{item.id}:{r}:{c}").random() < self.misread:
                    row[c] = text[:-1] + LOOK_ALIKE[text[-1]]
        return grid

    def misreads(self, item_id: str) -> list[tuple[int, int, str, str]]:
        """The planted misreadings of a puzzle: (row, column, true content, read content)."""
        reading = self.readings[item_id]
        truth = true_grid(self.items[item_id].texts["markdown"])
        return [(r, c, t, reading[r][c]) for r, row in enumerate(truth) for c, t in enumerate(row)
                if t != reading[r][c]]

    def slips(self, item_id: str) -> list[bool]:
        """Per blank, whether an image prompt's answer slips there (planted with probability ``slip``)."""
        return [random.Random(f"{self.seed}:{item_id}:slip:{j}").random() < self.slip
                for j in range(len(self.items[item_id].answer))]

    def answer(self, item: EvalItem, own_reading: bool, image: bool = False) -> str:
        """The answer to a puzzle from the true table, or from the server's own reading: a blank is wrong (plus
        one) where an equation through it holds a misread cell, or, asked from the image, where it slips."""
        misread = {(r, c) for r, c, _, _ in self.misreads(item.id)} if own_reading else set()
        through = blank_equation_cells(true_grid(item.texts["markdown"]))
        slipped = self.slips(item.id) if image else [False] * len(item.answer)
        return " ".join(str(int(value) + 1) if cells & misread or slip else value
                        for value, cells, slip in zip(item.answer, through, slipped))

    def puzzle_of(self, messages: list[dict[str, Any]]) -> Asked | None:
        """The puzzle a request asks about and how: by its text where it has a table, else by its image's
        pixels."""
        parts = [part for message in messages for part in (message["content"] if isinstance(message["content"], list)
                                                           else [{"type": "text", "text": message["content"]}])]
        words = " ".join(part["text"] for part in parts if part["type"] == "text")
        for part in parts:
            if part["type"] == "text":
                found = next((entry for text, entry in self.by_text.items() if text and text in part["text"]), None)
                if found is not None:
                    return Asked(found[0], own_reading=found[1], image=False, transcribe=False)
        for part in parts:
            if part["type"] == "image_url":
                kind, data = part["image_url"]["url"].split(",", 1)
                with self.lock:
                    self.stats.image_urls.add(kind)
                shown = self.by_image.get(_pixels(Image.open(io.BytesIO(base64.b64decode(data)))))
                if shown is not None:
                    return Asked(shown, own_reading=True, image=True, transcribe="transcribe" in words.lower())
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
        asked = self.puzzle_of(request["messages"])
        if asked is None:
            return 400, {}, json.dumps({"error": {"message": "no crossmath puzzle in the request"}}).encode()
        item = asked.item
        with self.lock:
            self.stats.by_puzzle[item.id] = self.stats.by_puzzle.get(item.id, 0) + 1
            request_number = self.stats.by_puzzle[item.id]
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
        twin = self.q is not None and _shows_twin(request["messages"], item)
        if item.id in self.replies:
            words = [self.replies[item.id].split(" ")] * n
        elif asked.transcribe:
            words = [f"<grid>\n{grid_text(self.readings[item.id], 'markdown')}\n</grid>".split(" ")] * n
        else:
            words = [f"The missing numbers are found. <answer>{answer}</answer>".split() for answer in
                     (self.planted_answer(item, request_number, i) if twin else
                      self.answer(item, asked.own_reading, asked.image) for i in range(n))]
        limit = int(request.get("max_tokens") or len(words[0]))  # a word is a token here
        texts = [" ".join(reply[:limit]) for reply in words]
        cut = limit < len(words[0]) or texts[0].count("<answer>") > texts[0].count("</answer>")
        finish = "length" if cut else "stop"
        prompt_tokens = len(json.dumps(request["messages"])) // 4
        completion_tokens = n * min(limit, len(words[0]))
        with self.lock:
            self.stats.prompt_tokens += prompt_tokens
            self.stats.completion_tokens += completion_tokens
        body = {"id": "chatcmpl-crossmath", "object": "chat.completion", "created": 0, "model": self.model,
                "choices": [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                            for i, text in enumerate(texts)],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}
        return 200, {}, json.dumps(body).encode()

    def planted_answer(self, item: EvalItem, request_number: int, choice: int) -> str:
        """The answer to a conflict request: per blank where A and B differ, A's value with probability q, else
        B's; the choices are recorded in ``stats.planted``."""
        assert self.q is not None
        answer, choices = [], []
        for blank, (image, text) in enumerate(zip(item.answer, item.conflict_answer, strict=True)):
            if image == text:
                answer.append(image)
                continue
            key = f"{item.id}:{request_number}:{choice}:{blank}".encode()
            follows_image = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64 < self.q
            answer.append(image if follows_image else text)
            choices.append("image" if follows_image else "text")
        with self.lock:
            self.stats.planted[(item.id, request_number, choice)] = tuple(choices)
        return " ".join(answer)

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
    parser.add_argument("--misread", type=float, default=0.0, help="chance of misreading each shown number")
    parser.add_argument("--slip", type=float, default=0.0, help="chance of a wrong blank on an image prompt")
    parser.add_argument("--q", type=float, help="on a conflict config's hybrid prompts, follow the image at each "
                                                "differing blank with this probability, else the text")
    parser.add_argument("--seed", type=int, default=0, help="seed of the planted misreadings, slips and choices")
    parser.set_defaults(run=_serve)
    return run_cli(parser, argv)


def _serve(args: Any) -> int:
    from crossmath.eval.sources import load_items

    items = load_items(args.dataset, args.style, args.split)
    every = {kind: n for kind, n in (("500", args.fail_every), ("429", args.rate_limit)) if n}
    faults = fault_plans([item.id for item in items], every, args.fault)
    with AnswerServer(items, model=args.model, delay=args.delay, faults=faults, slow_seconds=args.slow_seconds,
                      retry_after=args.retry_after, accepts_n=not args.no_n, port=args.port, misread=args.misread,
                      slip=args.slip, q=args.q, seed=args.seed) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
