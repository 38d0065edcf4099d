"""Hostile but realistic use of crossmath-eval and crossmath-train (issue 22): bad files, odd settings, runs that
would write where they must not.

Each test is the regression test of one point of the issue, numbered as there. Runs come from the OpenAI engine
against a local answer server, so no model (and no torch) is needed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eval_errors import error_of

from crossmath.eval import cli
from crossmath.eval.sources import EvalItem, load_items
from crossmath.testing.answer_server import AnswerServer


@pytest.fixture(scope="module")
def items(eval_dataset: Path) -> list[EvalItem]:
    return load_items(str(eval_dataset), "original", "test")


@pytest.fixture(scope="module")
def server(items: list[EvalItem]) -> Iterator[AnswerServer]:
    with AnswerServer(items) as running:
        yield running


def run_api(server: AnswerServer, dataset: Path, out: Path, *args: str, base_url: str | None = None) -> int:
    return cli.main(["run", "--backend", "openai", "--base-url", base_url or server.url, "--model", server.model,
                     "--dataset", str(dataset), "--output", str(out), "--no-progress", "--limit", "2", *args])


@pytest.fixture(scope="module")
def runs(server: AnswerServer, eval_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text and an image run of the served model over 2 puzzles: ``runs/crossmath-answers/original-*``."""
    out = tmp_path_factory.mktemp("runs")
    assert run_api(server, eval_dataset, out, "--modality", "text,image") == 0
    return out / server.model


def files_under(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# -- 6. a report never writes into a run folder ------------------------------------------------------------------------

def test_6_report_refuses_an_out_that_is_a_run_folder(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the default --out would go
    text, image = runs / "original-text", runs / "original-image"
    before = files_under(runs)
    assert "is a run folder" in error_of(capsys, "report", str(text), "--out", str(image))
    assert "would overwrite a file of the run" in error_of(capsys, "report", str(text), "--out",
                                                           str(tmp_path / "r"), "--html", str(image / "report.md"))
    assert files_under(runs) == before and not any(tmp_path.iterdir())


# -- 7. a model named .. keeps its run folders inside --output ---------------------------------------------------------

def test_7_a_model_path_of_dots_stays_inside_the_output_folder(items, eval_dataset, tmp_path, monkeypatch):
    inner = tmp_path / "work" / "inner"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    with AnswerServer(items, model="..") as dots:
        assert run_api(dots, eval_dataset, Path("runs"), "--modality", "text") == 0
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_dir()) == ["inner", "original-text", "runs", "work",
                                                                          "work"]
    assert (inner / "runs" / "work" / "original-text" / "predictions.jsonl").is_file()


# -- 8. predictions without their config are neither resumed nor started over ------------------------------------------

@pytest.mark.parametrize("resume", [["--resume"], []])
def test_8_predictions_whose_config_is_gone_are_refused(server, eval_dataset, tmp_path, capsys, resume):
    assert run_api(server, eval_dataset, tmp_path, "--modality", "text") == 0
    folder = tmp_path / server.model / "original-text"
    (folder / "config.json").unlink()
    before = files_under(folder)
    error = error_of(capsys, "run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                     "--dataset", str(eval_dataset), "--output", str(tmp_path), "--modality", "text", "--limit", "1",
                     *resume)
    assert f"{folder} holds predictions.jsonl but no config.json" in error
    assert files_under(folder) == before


# -- 24. credentials in a base URL are never stored or printed ---------------------------------------------------------

def test_24_credentials_in_the_base_url_are_redacted(server, eval_dataset, tmp_path, capsys):
    url = server.url.replace("http://", "http://user:SECRET@") + "?api_key=SECRET2&api-version=1"
    assert run_api(server, eval_dataset, tmp_path, "--modality", "text", base_url=url) == 0
    written = b"".join(files_under(tmp_path).values()).decode() + "".join(capsys.readouterr())
    assert "SECRET" not in written
    config = json.loads((tmp_path / server.model / "original-text" / "config.json").read_text())
    assert config["backend"]["base_url"] == server.url.replace("http://", "http://***@") + "?api_key=***&api-version=1"


# -- 25. requests that can never succeed, and a taken run folder, are refused before the model loads -------------------

def test_25_extra_body_with_nan_is_refused(server, eval_dataset, tmp_path, capsys):
    for constant in ("NaN", "Infinity", "-Infinity"):
        error = error_of(capsys, "run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                         "--dataset", str(eval_dataset), "--output", str(tmp_path), "--extra-body",
                         f'{{"x": {constant}}}')
        assert error.endswith(f"--extra-body holds {constant}, which is not valid JSON; give a number")
    assert not any(tmp_path.iterdir())


def float_options(parser: argparse.ArgumentParser) -> list[str]:
    """The first name of every option of ``parser`` (or of its ``run`` subcommand) that takes a float."""
    from crossmath.eval.plan import _subparser

    command = _subparser(parser) if parser.prog == "crossmath-eval" else parser
    return [action.option_strings[0] for action in command._actions if action.type is float]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_25_every_float_option_of_run_refuses_nan_and_inf_before_the_model_loads(server, eval_dataset, tmp_path,
                                                                                   capsys, monkeypatch, value):
    from crossmath.eval import cells

    monkeypatch.setattr(cells, "make_backend", lambda args: pytest.fail("the model was loaded"))
    options = float_options(cli.build_parser())
    assert {"--temperature", "--top-p", "--timeout"} <= set(options)
    for option in options:
        error = error_of(capsys, "run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                         "--dataset", str(eval_dataset), "--output", str(tmp_path), f"{option}={value}")
        assert error == f"crossmath-eval: error: {option} must be a finite number, not {float(value)}"
    assert not any(tmp_path.iterdir())


def test_a_run_whose_every_request_failed_is_named_not_reported(items, eval_dataset, tmp_path, capsys):
    with AnswerServer(items, faults={item.id: ["always"] for item in items}) as down:
        assert run_api(down, eval_dataset, tmp_path, "--modality", "text,image", "--max-retries", "0") == 1
    captured = capsys.readouterr()
    for modality in ("text", "image"):
        assert (f"not in the report: {tmp_path / down.model / f'original-{modality}'} has no answered prediction "
                "(every request failed)") in captured.out
    assert "2 run(s) incomplete" in captured.err and "error" not in captured.err


def test_25_a_taken_run_folder_is_refused_before_the_model_loads(runs, eval_dataset, capsys):
    nobody = "http://127.0.0.1:1/v1"  # nothing listens: loading the model (reaching the server) would fail
    error = error_of(capsys, "run", "--backend", "openai", "--base-url", nobody, "--model", runs.name,
                     "--dataset", str(eval_dataset), "--output", str(runs.parent), "--modality", "text")
    assert error.endswith("already holds a run; use --resume to continue it or another --output")


# -- 12. many samples: refused beyond a bound, and asked for a chunk at a time -----------------------------------------

def test_12_samples_are_bounded_and_asked_for_in_chunks(items, eval_dataset, tmp_path, capsys):
    from crossmath.eval.runner import SAMPLES_PER_CALL

    assert error_of(capsys, "run", "--backend", "openai", "--base-url", "http://127.0.0.1:1/v1", "--model", "m",
                    "--dataset", str(eval_dataset), "--output", str(tmp_path), "--num-samples", "100000"
                    ).endswith("--num-samples must be from 1 to 1000")
    assert not any(tmp_path.iterdir())
    samples = 2 * SAMPLES_PER_CALL + 3
    with AnswerServer(items) as server:
        assert run_api(server, eval_dataset, tmp_path, "--modality", "text", "--num-samples", str(samples),
                       "--temperature", "1") == 0
    assert max(body.get("n", 1) for body in server.stats.bodies) == SAMPLES_PER_CALL
    assert len({body["seed"] for body in server.stats.bodies}) == len(server.stats.bodies)  # chunks differ
    lines = (tmp_path / server.model / "original-text" / "predictions.jsonl").read_text().splitlines()
    assert sorted((r["id"], r["sample"]) for r in map(json.loads, lines)) == sorted(
        (item.id, s) for item in items[:2] for s in range(samples))


# -- 15. numbers of 20,000 digits: read as what they are, or named by file and line ------------------------------------

def published_copy(eval_dataset: Path, folder: Path) -> Path:
    """A copy of the build's published Original records (and images) in ``folder``."""
    shutil.copytree(eval_dataset / "published" / "data" / "Original", folder)
    return folder / "testset_hr.jsonl"


def test_15_a_step_label_of_20000_digits_is_a_deep_step(server, eval_dataset, tmp_path, capsys):
    from crossmath.puzzles.records import read_records, write_records

    path = published_copy(eval_dataset, tmp_path / "data")
    records = read_records(path)
    huge = "step" + "9" * 20000
    records[0]["markdown_answer_step"] = re.sub(r"step\d+", huge, records[0]["markdown_answer_step"])
    write_records(path, records)
    assert run_api(server, path, tmp_path / "runs", "--modality", "text") == 0, capsys.readouterr().err
    metrics = json.loads((tmp_path / "runs" / server.model / "original-text" / "metrics.json").read_text())
    assert metrics["micro"]["mean"] == 100.0 and metrics["blanks_by_step"]["step4+"] >= 1


def test_15_a_prediction_holding_a_number_of_20000_digits_is_named_by_line(runs, eval_dataset, tmp_path, capsys):
    lines = (runs / "original-text" / "predictions.jsonl").read_text().splitlines()
    huge = tmp_path / "predictions.jsonl"
    huge.write_text("\n".join([lines[0], lines[1].replace('"sample": 0', '"sample": ' + "1" * 20000)]) + "\n")
    assert error_of(capsys, "score", "--dataset", str(eval_dataset), str(huge)).endswith(
        f"{huge}:2: holds a number of more than 4300 digits")
    usage = tmp_path / "usage.jsonl"  # whole-number usage counts only; anything else counts 0
    record = {**json.loads(lines[0]), "usage": {"prompt_tokens": "1" * 20000, "completion_tokens": [1]}}
    usage.write_text(json.dumps(record) + "\n")
    capsys.readouterr()
    assert cli.main(["score", "--dataset", str(eval_dataset), "--json", str(usage)]) == 0
    assert json.loads(capsys.readouterr().out)["prompt_tokens"] == 0


# -- 20. a predictions.jsonl that is really a PNG ----------------------------------------------------------------------

def test_20_a_png_named_predictions_jsonl_is_one_error_line(runs, eval_dataset, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(runs / "original-text", folder)
    png = next((eval_dataset / "published" / "data" / "Original").rglob("*.png")).read_bytes()
    (folder / "predictions.jsonl").write_bytes(png)
    assert error_of(capsys, "score", "--dataset", str(eval_dataset), str(folder / "predictions.jsonl")).endswith(
        ":1: not UTF-8 text, so neither prediction records nor a published-format log")
    assert error_of(capsys, "report", str(folder), "--out", str(tmp_path / "report")).endswith(
        "predictions.jsonl:1: not UTF-8 text, so not a JSON line")
    (folder / "config.json").write_bytes(png)
    assert error_of(capsys, "report", str(folder), "--out", str(tmp_path / "report")).endswith(
        "config.json: not UTF-8 text, so not valid JSON")
    assert not (tmp_path / "report").exists()


# -- 23. content that is neither prediction records nor a published-format log -----------------------------------------

@pytest.mark.parametrize("content, message", [
    (bytes(range(255, -1, -1)) * 4, ":1: not UTF-8 text, so neither prediction records nor a published-format log"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "holds JSON lists, neither prediction records"),
    (b"[[1, 2], [3]]\n[]\n", "holds JSON lists, neither prediction records"),
    ("1 2 3\n".encode("utf-16-le"), "holds binary data (NUL bytes)"),
], ids=["random bytes", "deep lists", "lists", "UTF-16"])
def test_23_score_refuses_content_of_neither_format(eval_dataset, tmp_path, capsys, content, message):
    path = tmp_path / "random_bytes.jsonl"
    path.write_bytes(content)
    assert message in error_of(capsys, "score", "--dataset", str(eval_dataset), str(path))


def test_23_a_published_log_with_odd_lines_is_still_a_log(items, eval_dataset, tmp_path, capsys):
    log = tmp_path / "run_1.log"
    log.write_text("\n".join([" ".join(items[0].answer), "[1, 2]", "1" * 20000]) + "\n")
    capsys.readouterr()
    assert cli.main(["score", "--dataset", str(eval_dataset), "--json", str(log)]) == 0
    assert json.loads(capsys.readouterr().out)["puzzles"] == 3


# -- 16. a difficulty that is not text ---------------------------------------------------------------------------------

def test_16_a_difficulty_given_as_a_number_is_reported_as_its_text(server, eval_dataset, tmp_path, capsys):
    from crossmath.puzzles.records import read_records, write_records

    path = published_copy(eval_dataset, tmp_path / "data")
    records = read_records(path)
    # a wrong answer of as many digits (the renderer refuses numbers wider than a cell), so the gallery shows puzzle 1
    wrong = re.sub(r"\d+", lambda m: "9" * len(m[0]) if set(m[0]) != {"9"} else "8" * len(m[0]),
                   records[0]["markdown_answer"], count=1)
    write_records(path, [{**records[0], "markdown_answer": wrong, "difficulty": 5}, records[1]])
    assert run_api(server, path, tmp_path / "runs", "--modality", "text") == 0
    page = tmp_path / "page.html"
    capsys.readouterr()
    assert cli.main(["report", str(tmp_path / "runs" / server.model / "original-text"), "--out",
                     str(tmp_path / "report"), "--html", str(page)]) == 0
    assert 'data-difficulty="5"' in page.read_text()
    write_records(path, [{**records[0], "difficulty": ["hard"]}])
    assert error_of(capsys, "run", "--backend", "openai", "--base-url", server.url, "--model", server.model,
                    "--dataset", str(path), "--output", str(tmp_path / "more")
                    ).endswith(f'{path}:1: difficulty is a list, not text such as "medium"')


# -- 19. prompt files that are not templates ---------------------------------------------------------------------------

BAD_PROMPTS = [(b"Solve {puzzle", "not a valid template (expected '}' before end of string)"),
               (b"Solve } {puzzle}", "not a valid template (Single '}' encountered"),
               (b"Solve {puzzle:>999999999999}", "take no format spec or conversion"),
               (b"\x89PNG\r\n\x1a\n\x00\x00", "is not UTF-8 text (byte 0x89 at offset 0)")]


@pytest.mark.parametrize(("content", "message"), BAD_PROMPTS, ids=["open brace", "close brace", "spec", "binary"])
def test_19_eval_refuses_a_prompt_file_that_is_not_a_template(eval_dataset, tmp_path, capsys, content, message):
    prompt = tmp_path / "prompt.txt"
    prompt.write_bytes(content)
    assert message in error_of(capsys, "run", "--backend", "openai", "--base-url", "http://127.0.0.1:1/v1",
                               "--model", "m", "--dataset", str(eval_dataset), "--output", str(tmp_path / "runs"),
                               "--prompt-file", str(prompt))
    assert not (tmp_path / "runs").exists()


# -- 21 and 25. crossmath-train checks every option before it loads anything -------------------------------------------

@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> str:
    from crossmath.testing.random_models import tiny_qwen2_vl

    return str(tiny_qwen2_vl(tmp_path_factory.mktemp("models") / "tiny-qwen2-vl"))


@pytest.fixture
def train_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Run crossmath-train (whose model must never load) on a folder that is no dataset; its one error line, after
    checking that ``--out`` was not made."""
    from crossmath.train import training
    from crossmath.train.cli import main as train_main

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(training, "load_base", never)

    def error(*args: str, model: str = "no-such-model") -> str:
        capsys.readouterr()
        assert train_main(["--model", model, "--dataset", str(tmp_path), "--out", str(tmp_path / "out"),
                           "--no-progress", *args]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("crossmath-train: error: "), lines
        assert not (tmp_path / "out").exists()
        return lines[0]

    return error


@pytest.mark.parametrize(("args", "message"), [
    (["--learning-rate", "0"], "--learning-rate must be a number above 0"),
    (["--lora-dropout", "2"], "--lora-dropout must be from 0 up to (not including) 1"),
    (["--report-to", "foo"], "--report-to foo: not available here; choose none, all or one of"),
    (["--method", "grpo", "--num-generations", "0"], "--num-generations must be at least 2 for GRPO"),
    (["--epochs", "0"], "--epochs must be a number above 0"),
    (["--max-steps", "0"], "--max-steps must be at least 1"),
    (["--save-steps", "0"], "--save-steps must be at least 1"),
])
def test_21_25_train_options_out_of_range_are_refused_first(train_error, args, message):
    assert message in train_error(*args)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_25_every_float_option_of_train_refuses_nan_and_inf_first(train_error, value):
    from crossmath.train.cli import build_parser

    options = float_options(build_parser())
    assert {"--learning-rate", "--epochs", "--beta", "--temperature", "--lora-dropout", "--curriculum-threshold",
            "--curriculum-lower"} <= set(options)
    for option in options:
        assert train_error(f"{option}={value}") == f"crossmath-train: error: {option} must be a finite number, " \
                                                   f"not {float(value)}"


def test_21_19_train_refuses_unknown_target_modules_and_bad_prompt_files_before_loading(train_error, tiny_qwen,
                                                                                        tmp_path):
    error = train_error("--target-modules", "q_proj,nosuch", model=tiny_qwen)
    assert "--target-modules nosuch: no module of" in error and "q_proj" in error.split("linear layers are")[1]
    prompt = tmp_path / "prompt.txt"
    for content, message in BAD_PROMPTS:
        prompt.write_bytes(content)
        assert message in train_error("--prompt-file", str(prompt), model=tiny_qwen)
