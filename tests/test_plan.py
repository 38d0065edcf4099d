"""crossmath-eval run --plan: a whole study from one TOML file, on tiny random models of two families, a LoRA
adapter and the answer server, interrupted and resumed, with a failing model, and bad plans refused up front."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest
from terminal import as_in_a_terminal

from crossmath.eval import cells, cli, plan_runner
from crossmath.eval.sources import load_items
from crossmath.testing.answer_server import AnswerServer

ROOT = Path(__file__).parents[1]
STYLES = ("original", "altstyle")
MODALITIES = ("text", "image", "hybrid")


def write_plan(path: Path, dataset: Path, models: str, **shared: object) -> Path:
    head = {"dataset": str(dataset), "styles": list(STYLES), "modalities": list(MODALITIES), "max_new_tokens": 4,
            "limit": 3, "batch_size": 1, **shared}
    lines = [f"{key} = {json.dumps(value)}" for key, value in head.items()]
    path.write_text("\n".join(lines) + "\n\n" + models, encoding="utf-8")
    return path


def rows(folder: Path) -> list[tuple[str, int, str | None]]:
    """A run's predictions without their timings: (id, sample, output)."""
    return [(r["id"], r["sample"], r.get("output"))
            for r in map(json.loads, (folder / "predictions.jsonl").read_text().splitlines())]


def study(output: Path) -> dict[str, list[tuple[str, int, str | None]]]:
    """Every run folder of a plan's output and its predictions."""
    return {str(p.parent.relative_to(output)): rows(p.parent) for p in sorted(output.glob("*/*/predictions.jsonl"))}


@pytest.fixture(scope="module")
def lora(tiny_models: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    from test_eval import make_adapter

    return make_adapter(tiny_models["qwen"], tmp_path_factory.mktemp("plan-adapter") / "lora")


@pytest.fixture(scope="module")
def server(eval_dataset):
    items = [item for style in STYLES for item in load_items(str(eval_dataset), style, "test")]
    with AnswerServer(items) as answers:
        yield answers


def four_models(tiny_models: dict, lora: str, server: AnswerServer) -> str:
    return (f'[[model]]\nname = "qwen"\nmodel = "{tiny_models["qwen"]}"\n\n'
            f'[[model]]\nname = "llava"\nmodel = "{tiny_models["llava"]}"\n\n'
            f'[[model]]\nname = "qwen-lora"\nmodel = "{tiny_models["qwen"]}"\nadapter = "{lora}"\n\n'
            f'[[model]]\nname = "api"\nmodel = "{server.model}"\nbase_url = "{server.url}"\nconcurrency = 2\n')


def interrupted(plan: Path, ready: Path, sig: signal.Signals) -> tuple[int | None, str]:
    """Run a plan in its own process and send it ``sig`` once ``ready`` (a run's predictions) holds a line, as a
    person would press Ctrl-C in a terminal; its exit status and what it printed to stderr."""
    process = subprocess.Popen([sys.executable, "-m", "crossmath.eval.cli", "run", "--plan", str(plan),
                                "--no-progress"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_in_a_terminal)
    deadline = time.monotonic() + 600  # a bound on a hung run, not a wait: the signal follows the first line
    while not (ready.is_file() and ready.read_text()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(sig)
    _, err = process.communicate(timeout=600)
    return process.returncode, err


@pytest.mark.torch
def test_an_interrupted_plan_resumes_to_what_an_uninterrupted_one_makes(tiny_models, eval_dataset, lora, server,
                                                                      tmp_path):
    models = four_models(tiny_models, lora, server)
    one_style = {"styles": ["original"], "limit": 2}  # four models (two families, an adapter, a server) x three
    # modalities, two puzzles each
    whole = write_plan(tmp_path / "whole.toml", eval_dataset, models, output=str(tmp_path / "whole"), **one_style)
    assert cli.main(["run", "--plan", str(whole), "--no-progress"]) == 0
    reference = study(tmp_path / "whole")
    assert len(reference) == 12 and all(len(r) == 2 for r in reference.values())
    assert all(len(set(r)) == 2 for r in reference.values())

    cut = write_plan(tmp_path / "cut.toml", eval_dataset, models, output=str(tmp_path / "cut"), **one_style)
    code, err = interrupted(cut, tmp_path / "cut" / "llava" / "original-image" / "predictions.jsonl", signal.SIGINT)
    assert code == 130, err
    assert "plan interrupted" in err
    partial = study(tmp_path / "cut")
    assert 0 < sum(map(len, partial.values())) < 24  # stopped mid-way

    assert cli.main(["run", "--plan", str(cut), "--no-progress"]) == 0
    resumed = study(tmp_path / "cut")
    assert resumed == reference
    for name in reference:
        assert json.loads((tmp_path / "cut" / name / "metrics.json").read_text())["complete"]
        old, new = (json.loads((tmp_path / run / name / "config.json").read_text()) for run in ("whole", "cut"))
        assert {k: v for k, v in old.items() if k != "backend"} == {k: v for k, v in new.items() if k != "backend"}
    assert (tmp_path / "cut" / "plan.toml").read_text() == cut.read_text()
    config = json.loads((tmp_path / "cut" / "qwen-lora" / "original-hybrid" / "config.json").read_text())
    assert config["adapter"] == lora and config["name"] == "qwen-lora" and config["model"] == tiny_models["qwen"]
    assert json.loads((tmp_path / "cut" / "api" / "original-text" / "config.json").read_text())["engine"] == "openai"


@pytest.mark.torch
def test_a_failing_model_is_named_and_the_others_run_each_loaded_once(tiny_models, eval_dataset, server, tmp_path,
                                                                     monkeypatch, capsys):
    made: list[weakref.ref] = []
    real = cells.make_backend

    def tracked(args):
        assert all(ref() is None for ref in made), "the previous model was not freed before the next loaded"
        backend = real(args)
        made.append(weakref.ref(backend))
        return backend

    monkeypatch.setattr(plan_runner, "make_backend", tracked)
    models = (f'[[model]]\nname = "qwen"\nmodel = "{tiny_models["qwen"]}"\n\n'
              f'[[model]]\nname = "broken"\nmodel = "{tmp_path / "no-such-model"}"\n\n'
              f'[[model]]\nmodel = "{server.model}"\nbase_url = "{server.url}"\nmax_new_tokens = 64\n')
    plan = write_plan(tmp_path / "p.toml", eval_dataset, models, output=str(tmp_path / "out"), styles=["original"],
                      max_new_tokens=8)
    assert cli.main(["run", "--plan", str(plan), "--no-progress", "--limit", "2"]) == 1
    out = capsys.readouterr().out
    assert f"FAILED broken: cannot load model '{tmp_path / 'no-such-model'}': no such folder" in out
    assert len(made) == 2  # qwen once for its three runs, the server once; the broken model never loaded
    runs = study(tmp_path / "out")
    assert sorted(runs) == [f"{m}/original-{x}" for m in ("crossmath-answers", "qwen") for x in sorted(MODALITIES)]
    assert all(len(r) == 2 for r in runs.values())  # --limit 2 overrides the file's 3
    qwen = json.loads((tmp_path / "out" / "qwen" / "original-text" / "config.json").read_text())
    api = json.loads((tmp_path / "out" / "crossmath-answers" / "original-text" / "config.json").read_text())
    assert (qwen["max_new_tokens"], api["max_new_tokens"], api["engine"]) == (8, 64, "openai")
    assert json.loads((tmp_path / "out" / "crossmath-answers" / "original-hybrid" / "metrics.json").read_text()
                      )["macro"]["mean"] == 100.0
    assert "no such folder" in (tmp_path / "out" / plan_runner.FAILURES).read_text()

    made.clear()
    assert cli.main(["run", "--plan", str(plan), "--no-progress", "--limit", "2"]) == 1  # finished runs: skipped
    assert made == [] and "qwen: all 3 runs done already" in capsys.readouterr().out


def test_dry_run_lists_the_runs_and_loads_nothing(eval_dataset, tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("a dry run loaded something")

    monkeypatch.setattr(plan_runner, "make_backend", refuse)
    monkeypatch.setattr(plan_runner, "load_model_items", refuse)
    models = (f'[[model]]\nname = "ghost"\nmodel = "{tmp_path / "no-such-model"}"\n\n'
              '[[model]]\nmodel = "served"\nbase_url = "http://127.0.0.1:9/v1"\n')
    plan = write_plan(tmp_path / "p.toml", eval_dataset, models, output=str(tmp_path / "out"))
    assert cli.main(["run", "--plan", str(plan), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 13 and lines[-1] == "12 runs of 2 models: 0 done, 0 partial, 12 to run"
    assert lines[0].split() == ["ghost", "original-text", "new", str(tmp_path / "out" / "ghost" / "original-text")]
    assert not (tmp_path / "out").exists()
    # a Hub dataset is not loaded either (its fingerprint would take loading it); offline, loading would fail
    assert cli.main(["run", "--plan", str(plan), "--dry-run", "--dataset", "nobody/no-such-dataset"]) == 0
    assert capsys.readouterr().out.endswith("12 runs of 2 models: 0 done, 0 partial, 12 to run\n")


@pytest.mark.parametrize("plan_text, message", [
    ('[[model]]\nmodel = "m"\nmax_new_token = 4\n',
     "[[model]] 1 (m): unknown key 'max_new_token'; did you mean 'max_new_tokens'?"),
    ('style = ["original"]\n[[model]]\nmodel = "m"\n', "unknown key 'style'; did you mean 'styles'?"),
    ('[[model]]\nname = "a"\nbatch_size = 4\n',
     "[[model]] 1 (a) has neither a model id or path nor a base URL"),
    ('[[model]]\nname = "a"\nmodel = "m1"\n[[model]]\nname = "a"\nmodel = "m2"\n',
     "[[model]] 1 and 2 are both named 'a'; give each model its own name"),
    ('[[model]]\nmodel = "m"\nbatch_size = "4"\n', "batch_size must be a whole number, not '4'"),
    ('[[model]]\nmodel = "m"\nbatch_size = 0\n', "--batch-size must be at least 1"),
    ('temperature = inf\n[[model]]\nmodel = "m"\n', "p.toml: temperature must be a finite number, not inf"),
    ('[[model]]\nmodel = "m"\ntimeout = nan\n', "[[model]] 1 (m): timeout must be a finite number, not nan"),
    ('modalities = ["text", "smell"]\n[[model]]\nmodel = "m"\n', "modalities: modalities are text, image, hybrid"),
    ('dtype = "float8"\n[[model]]\nmodel = "m"\n', "dtype must be one of auto, bfloat16, float16, float32"),
    ('dataset = "d"\n', "a plan needs at least one [[model]] table"),
    ('[[model]]\nmodel = "m"\noutput = "x"\n', "unknown key 'output'"),
    ('[[model]\nmodel = "m"\n', "cannot read plan"),
    ('[[model]]\nname = "report"\nmodel = "m"\n',
     "[[model]] 1 (report): its runs' folder 'report' is the plan's own report folder in the output folder"),
    ('[[model]]\nmodel = "m1"\n[[model]]\nname = "Plan.toml"\nmodel = "m2"\n',
     "[[model]] 2 (Plan.toml): its runs' folder 'Plan.toml' is the plan's own copy of the plan"),
    ('[[model]]\nname = "plan-failures.log"\nmodel = "m"\n', "is the plan's own failure log"),
    ('output = "p.toml"\n[[model]]\nmodel = "m"\n', "output p.toml is a file; the plan writes its runs"),
])
def test_a_bad_plan_is_one_error_line_before_anything_runs(tmp_path, monkeypatch, capsys, plan_text, message):
    monkeypatch.chdir(tmp_path)
    Path("p.toml").write_text('dataset = "d"\n' + plan_text if not plan_text.startswith("dataset") else plan_text)
    assert cli.main(["run", "--plan", "p.toml", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("crossmath-eval: error: ") and message in err, err
    assert os.listdir(tmp_path) == ["p.toml"]


def test_a_plan_that_is_a_folder_is_one_error_line(tmp_path, capsys):
    assert cli.main(["run", "--plan", str(tmp_path), "--dry-run"]) == 2
    assert capsys.readouterr().err == f"crossmath-eval: error: plan {tmp_path} is a folder; give the TOML file itself\n"


def test_the_command_line_may_not_rename_a_plans_models(tmp_path, capsys):
    plan = tmp_path / "p.toml"
    plan.write_text('dataset = "d"\n[[model]]\nmodel = "m"\n')
    assert cli.main(["run", "--plan", str(plan), "--model", "x", "--dry-run"]) == 2
    assert "--model cannot be given with --plan" in capsys.readouterr().err


def test_only_runs_the_models_named(eval_dataset, server, tmp_path, capsys):
    models = (f'[[model]]\nname = "ghost"\nmodel = "{tmp_path / "no-such-model"}"\n\n'
              f'[[model]]\nname = "api"\nmodel = "{server.model}"\nbase_url = "{server.url}"\nmax_new_tokens = 64\n')
    plan = write_plan(tmp_path / "p.toml", eval_dataset, models, output=str(tmp_path / "out"), styles=["original"])
    assert cli.main(["run", "--plan", str(plan), "--only", "apy", "--no-progress"]) == 2
    assert "--only: " in (err := capsys.readouterr().err) and "did you mean 'api'?" in err
    assert cli.main(["run", "--plan", str(plan), "--only", "api", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ghost" not in out and "| 1 | api | original |" in out  # the leaderboard ends the output
    assert sorted(study(tmp_path / "out")) == [f"api/original-{m}" for m in sorted(MODALITIES)]


def test_the_readme_shows_the_example_plan():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```toml\n" + (ROOT / "examples" / "study.toml").read_text(encoding="utf-8") + "```\n" in readme


def test_a_rerun_resends_only_the_failed_requests(eval_dataset, tmp_path, capsys):
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items, faults={items[1].id: ["always"]}) as flaky:
        models = f'[[model]]\nname = "api"\nmodel = "{flaky.model}"\nbase_url = "{flaky.url}"\nmax_retries = 0\n'
        plan = write_plan(tmp_path / "p.toml", eval_dataset, models, output=str(tmp_path / "out"),
                          styles=["original"], modalities=["text"], max_new_tokens=64)
        assert cli.main(["run", "--plan", str(plan), "--no-progress"]) == 1
        assert "1 incomplete" in capsys.readouterr().out
        assert cli.main(["run", "--plan", str(plan), "--dry-run"]) == 0
        assert "original-text  partial" in capsys.readouterr().out
        flaky.faults.clear()
        before = flaky.stats.requests
        assert cli.main(["run", "--plan", str(plan), "--no-progress"]) == 0
        assert flaky.stats.requests - before == 1
    rows = study(tmp_path / "out")["api/original-text"]
    assert len(rows) == 4 and len({(pid, sample) for pid, sample, _ in rows}) == 3  # the failed line, then its retry
    metrics = json.loads((tmp_path / "out" / "api" / "original-text" / "metrics.json").read_text())
    assert metrics["complete"] and metrics["macro"]["mean"] == 100.0
    assert cli.main(["run", "--plan", str(plan), "--dry-run"]) == 0
    assert capsys.readouterr().out.endswith("1 runs of 1 models: 1 done, 0 partial, 0 to run\n")
    # other settings on the same folders: refused for that model, named, nothing overwritten
    assert cli.main(["run", "--plan", str(plan), "--no-progress", "--max-new-tokens", "32"]) == 1
    assert "FAILED api: " in (out := capsys.readouterr().out) and "holds a run of other settings" in out
    assert study(tmp_path / "out")["api/original-text"] == rows


def test_a_model_whose_every_request_failed_is_named_and_the_others_reported(eval_dataset, server, tmp_path,
                                                                             capsys):
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items, faults={item.id: ["always"] for item in items}) as down:
        models = (f'[[model]]\nname = "api"\nmodel = "{server.model}"\nbase_url = "{server.url}"\n\n'
                  f'[[model]]\nname = "down"\nmodel = "{down.model}"\nbase_url = "{down.url}"\nmax_retries = 0\n')
        plan = write_plan(tmp_path / "p.toml", eval_dataset, models, output=str(tmp_path / "out"),
                          styles=["original"], max_new_tokens=64)
        assert cli.main(["run", "--plan", str(plan), "--no-progress"]) == 1
    out = capsys.readouterr().out
    for modality in MODALITIES:
        assert (f"not in the report: {tmp_path / 'out' / 'down' / f'original-{modality}'} has no answered "
                "prediction (every request failed)") in out
    assert "| 1 | api | original |" in out and "| down |" not in out
    assert "wrote the report over 3 runs" in out and (tmp_path / "out" / "report" / "report.md").is_file()
    assert "3 incomplete" in out


def test_a_single_run_takes_a_name(eval_dataset, server, tmp_path, capsys):
    assert cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", server.model, "--name",
                     "served-x", "--dataset", str(eval_dataset), "--limit", "2", "--output", str(tmp_path),
                     "--no-progress", "--max-new-tokens", "64"]) == 0
    config = json.loads((tmp_path / "served-x" / "original-hybrid" / "config.json").read_text())
    assert config["name"] == "served-x" and config["model"] == server.model
    assert "| 1 | served-x | original |" in capsys.readouterr().out  # the model's gap report, labelled by name


def test_sigterm_stops_a_plan_as_ctrl_c_does(eval_dataset, tmp_path):
    items = load_items(str(eval_dataset), "original", "test")
    with AnswerServer(items, delay=0.2) as slow:
        models = f'[[model]]\nname = "api"\nmodel = "{slow.model}"\nbase_url = "{slow.url}"\nconcurrency = 1\n'
        plan = write_plan(tmp_path / "p.toml", eval_dataset, models, output=str(tmp_path / "out"),
                          styles=["original"], limit=6, max_new_tokens=64)
        code, err = interrupted(plan, tmp_path / "out" / "api" / "original-text" / "predictions.jsonl",
                                signal.SIGTERM)
        assert code == 130 and "plan interrupted" in err, err
        kept = study(tmp_path / "out")
        assert 0 < sum(map(len, kept.values())) < 18
        slow.delay = 0.0  # the delay only had to keep the plan running until the signal
        assert cli.main(["run", "--plan", str(plan), "--no-progress"]) == 0
    done = study(tmp_path / "out")
    assert all(rows[:len(kept.get(name, []))] == kept.get(name, []) for name, rows in done.items())
    assert [len({(pid, sample) for pid, sample, _ in rows}) for rows in done.values()] == [6, 6, 6]
    assert [len(rows) for rows in done.values()] == [6, 6, 6]  # nothing asked twice
