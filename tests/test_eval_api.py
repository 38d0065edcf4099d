"""crossmath-eval --backend openai against a real OpenAI-compatible HTTP server on 127.0.0.1 that injects faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossmath.eval import cli
from crossmath.eval.backends import openai_backend
from crossmath.eval.sources import load_items
from crossmath.testing.answer_server import AnswerServer

KEY = "sk-crossmath-test-key-1234567890"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """Retries wait a fifth of the real backoff, so fault tests take seconds; Retry-After is still honoured."""
    monkeypatch.setattr(openai_backend, "BACKOFF_BASE", 0.1)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.fixture(scope="module")
def items(eval_dataset):
    return load_items(str(eval_dataset), "original", "test")


def run_api(server: AnswerServer, dataset: Path, out: Path, *args: str) -> int:
    return cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                     "--dataset", str(dataset), "--output", str(out), "--no-progress", "--max-new-tokens", "64",
                     *args])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_puzzle_is_answered_through_faults_with_bounded_concurrency(items, eval_dataset, tmp_path, capsys):
    faults = {"test-00000": ["429"], "test-00001": ["500", "500"], "test-00002": ["slow"],
              "test-00003": ["malformed"], "test-00004": ["drop", "429"]}
    with AnswerServer(items, faults=faults, delay=0.05, slow_seconds=1.5, retry_after="0.3") as server:
        code = run_api(server, eval_dataset, tmp_path, "--concurrency", "4", "--timeout", "0.6",
                       "--max-retries", "3")
    assert code == 0, capsys.readouterr().err
    assert 2 <= server.stats.max_in_flight <= 4
    assert server.stats.image_urls == {"data:image/png;base64"}
    assert server.stats.by_puzzle["test-00001"] >= 3 and server.stats.by_puzzle["test-00005"] == 3
    prompt_tokens = completion_tokens = 0
    for modality in ("text", "image", "hybrid"):
        folder = tmp_path / "crossmath-answers" / f"original-{modality}"
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["complete"] and metrics["failed_puzzles"] == 0 and metrics["puzzles"] == 6
        assert metrics["micro"]["mean"] == 100.0 and metrics["macro"]["mean"] == 100.0
        assert metrics["truncated_share"] == 0.0
        prompt_tokens += metrics["prompt_tokens"]
        completion_tokens += metrics["completion_tokens"]
        rows = read_jsonl(folder / "predictions.jsonl")
        assert len(rows) == 6 and all(r["finish_reason"] == "stop" and r["truncated"] is False for r in rows)
        config = json.loads((folder / "config.json").read_text())
        assert config["engine"] == "openai" and config["model_revision"]["id"] == "crossmath-answers"
    assert (prompt_tokens, completion_tokens) == (server.stats.prompt_tokens, server.stats.completion_tokens)
    assert server.stats.keys == {f"Bearer {KEY}"}  # the key was sent, and is in no output file
    assert all(KEY not in path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file())
    assert KEY not in capsys.readouterr().out


def test_a_failing_puzzle_is_recorded_as_failed_and_resume_sends_only_it(items, eval_dataset, tmp_path, capsys):
    with AnswerServer(items, faults={"test-00005": ["always"]}) as server:
        assert run_api(server, eval_dataset, tmp_path, "--modality", "text", "--max-retries", "1") == 1
        assert "incomplete" in capsys.readouterr().err
        folder = tmp_path / "crossmath-answers" / "original-text"
        metrics = json.loads((folder / "metrics.json").read_text())
        assert not metrics["complete"] and metrics["failed_puzzles"] == 1
        assert metrics["puzzles"] == 5 and metrics["micro"]["mean"] == 100.0  # never scored as wrong
        failed = [r for r in read_jsonl(folder / "predictions.jsonl") if r.get("failed")]
        assert [(r["id"], r["error"]) for r in failed] == [("test-00005", "HTTP 500: server error")]
        assert "Incomplete run" in (folder / "report.md").read_text()
        server.faults.clear()
        before = server.stats.requests
        assert run_api(server, eval_dataset, tmp_path, "--modality", "text", "--max-retries", "1", "--resume") == 0
        assert server.stats.requests == before + 1
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["complete"] and metrics["puzzles"] == 6 and metrics["micro"]["mean"] == 100.0


def test_resume_asks_only_for_the_samples_that_failed(items, eval_dataset, tmp_path):
    args = ["--modality", "text", "--limit", "2", "--num-samples", "3", "--temperature", "0.7", "--concurrency", "1"]
    with AnswerServer(items, accepts_n=False, faults={"test-00001": ["500"]}) as server:
        assert run_api(server, eval_dataset, tmp_path, *args, "--max-retries", "0") == 1
        before = server.stats.requests
        assert run_api(server, eval_dataset, tmp_path, *args, "--resume") == 0
        assert server.stats.requests == before + 1
    folder = tmp_path / "crossmath-answers" / "original-text"
    rows = read_jsonl(folder / "predictions.jsonl")
    assert [(r["id"], r["sample"], bool(r.get("failed"))) for r in rows if r["id"] == "test-00001"] == [
        ("test-00001", 0, True), ("test-00001", 1, False), ("test-00001", 2, False), ("test-00001", 0, False)]
    assert json.loads((folder / "metrics.json").read_text())["complete"]


@pytest.mark.parametrize("accepts_n", [True, False])
def test_samples_use_n_where_the_server_takes_it(items, eval_dataset, tmp_path, accepts_n):
    with AnswerServer(items, accepts_n=accepts_n) as server:
        assert run_api(server, eval_dataset, tmp_path, "--modality", "text", "--limit", "3", "--num-samples", "3",
                       "--concurrency", "1", "--temperature", "0.7", "--thinking", "--extra-body", '{"top_k": 20}') == 0
    rows = read_jsonl(tmp_path / "crossmath-answers" / "original-text" / "predictions.jsonl")
    assert sorted((r["id"], r["sample"]) for r in rows) == [(f"test-{i:05d}", s) for i in range(3) for s in range(3)]
    assert server.stats.requests == (3 if accepts_n else 1 + 9)  # one refused n request, then one per sample
    metrics = json.loads((tmp_path / "crossmath-answers" / "original-text" / "metrics.json").read_text())
    assert (metrics["prompt_tokens"], metrics["completion_tokens"]) == (server.stats.prompt_tokens,
                                                                        server.stats.completion_tokens)
    body = server.stats.bodies[-1]
    assert body["chat_template_kwargs"] == {"enable_thinking": True} and body["top_k"] == 20
    assert body["temperature"] == 0.7 and body["max_tokens"] == 64 and "seed" in body


def test_replies_cut_off_by_max_new_tokens_are_marked_truncated(items, eval_dataset, tmp_path):
    with AnswerServer(items) as server:
        assert run_api(server, eval_dataset, tmp_path, "--modality", "text", "--limit", "2",
                       "--max-new-tokens", "3") == 0
    folder = tmp_path / "crossmath-answers" / "original-text"
    rows = read_jsonl(folder / "predictions.jsonl")
    assert all(r["truncated"] and r["finish_reason"] == "length" and r["answer"] is None for r in rows)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["truncated_share"] == 1.0 and metrics["complete"] and metrics["missing_answers"] == 2


def test_api_option_errors_are_one_line(eval_dataset, tmp_path, capsys):
    data = ["run", "--backend", "openai", "--model", "m", "--dataset", str(eval_dataset), "--output", str(tmp_path)]
    cases = [([], "needs --base-url"),
             (["--base-url", "http://127.0.0.1:9/v1", "--extra-body", "{top_k: 2}"], "--extra-body is not valid JSON"),
             (["--base-url", "http://127.0.0.1:9/v1", "--no-progress"], "cannot reach http://127.0.0.1:9/v1"),
             (["--base-url", "http://x/v1", "--concurrency", "0"], "--concurrency must be at least 1")]
    for args, message in cases:
        capsys.readouterr()
        assert cli.main([*data, *args]) == 2
        error = capsys.readouterr().err.strip()
        assert "Traceback" not in error and message in error.splitlines()[-1], error
