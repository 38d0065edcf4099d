"""The lmms-eval task package, loaded by lmms-eval's own task loader, scoring as crossmath-eval scores."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import yaml

from crossmath.dataset import BuildSettings, build
from crossmath.eval.prompts import DEFAULT_TEMPLATES, build_prompt
from crossmath.eval.sources import load_items
from crossmath.render import STYLES
from crossmath.tasks import TASKS_DIR

MODALITIES = ("text", "image", "hybrid", "transcribe")
EXPECTED = {f"crossmath_{style}_{modality}" for style in STYLES for modality in MODALITIES}


class _TaskLoader(yaml.SafeLoader):
    """Reads task files without lmms-eval: a ``!function`` tag becomes its dotted name."""


def _dotted_name(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode), "!function tags a dotted name"
    return str(loader.construct_scalar(node))


_TaskLoader.add_constructor("!function", _dotted_name)


def test_each_task_file_sets_the_style_and_modality_its_name_says():
    names = set()
    for path in sorted(TASKS_DIR.glob("crossmath_*.yaml")):
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_TaskLoader)
        style, modality = config["dataset_name"], config["lmms_eval_specific_kwargs"]["default"]["modality"]
        assert path.stem == config["task"] == f"crossmath_{style}_{modality}"
        assert config["tag"] == f"crossmath_{modality}"
        assert config["doc_to_visual"] == ("hooks.no_visual" if modality == "text" else "hooks.doc_to_visual")
        names.add(config["task"])
    assert names == EXPECTED
    group = yaml.load((TASKS_DIR / "crossmath.yaml").read_text(encoding="utf-8"), Loader=_TaskLoader)
    assert set(group["task"]) == EXPECTED


@pytest.fixture(scope="module")
def lmms_tasks():
    return pytest.importorskip("lmms_eval.tasks", reason="lmms-eval is not installed (pip install lmms-eval)")


@pytest.fixture(scope="module")
def manager(lmms_tasks):
    return lmms_tasks.TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


def test_lmms_eval_lists_one_task_per_style_and_modality_a_tag_per_modality_and_the_group(manager):
    assert set(manager.all_subtasks) == EXPECTED
    assert set(manager.all_tags) == {f"crossmath_{modality}" for modality in MODALITIES}
    assert manager.all_groups == ["crossmath"]


def test_the_plugin_route_finds_this_folder_and_an_empty_model_list():
    # what lmms-eval does with LMMS_EVAL_PLUGINS=crossmath: read <plugin>.tasks' folder, import <plugin>.models
    spec = importlib.util.find_spec("crossmath.tasks")
    assert spec is not None and spec.submodule_search_locations
    location = spec.submodule_search_locations[0]
    assert Path(location) == TASKS_DIR
    sys.modules.pop("crossmath.models", None)  # the moved name warns on its first import only
    with pytest.warns(DeprecationWarning, match="crossmath.tasks.models"):
        assert importlib.import_module("crossmath.models").AVAILABLE_MODELS == {}


@pytest.fixture(scope="module")
def tasks(lmms_tasks, manager, tmp_path_factory):
    """The original-style tasks of every modality on a small build in ``crossmath-data`` (the tasks' default)."""
    folder = tmp_path_factory.mktemp("lmms")
    settings = BuildSettings(train_size=0, test_size=6, styles=(STYLES["original"],), version="test")
    build(folder / "crossmath-data", settings, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        loaded = lmms_tasks.get_task_dict([f"crossmath_original_{m}" for m in MODALITIES], manager)
    return {name.rsplit("_", 1)[1]: task for name, task in loaded.items()}, str(folder / "crossmath-data")


def test_no_stop_string_cuts_a_reply_neither_a_blank_line_nor_the_answer_tag(tasks):
    for task in tasks[0].values():
        assert task.config.generation_kwargs["until"] == []


def test_requests_are_crossmath_evals_prompts(tasks):
    by_modality, source = tasks
    items = load_items(source, "original", "test")
    for modality, task in by_modality.items():
        docs = list(task.test_docs())
        assert [doc["id"] for doc in docs] == [item.id for item in items]
        for doc, item in zip(docs, items, strict=True):
            expected = build_prompt(item, modality, "markdown", DEFAULT_TEMPLATES[modality])
            text = task.doc_to_text(doc)
            assert text == expected.messages[0]["content"][-1]["text"]
            images = task.doc_to_visual(doc)
            assert len(images) == (modality != "text")
            if images:
                assert expected.image is not None
                assert images[0].mode == "RGB" and images[0].tobytes() == expected.image.tobytes()


def test_transcription_tasks_report_the_read_metrics_of_crossmath_eval(tasks):
    from crossmath.eval.read_metrics import FIGURES, read_metrics

    task = tasks[0]["transcribe"]
    assert task.config.generation_kwargs["until"] == []
    docs = list(task.test_docs())[:3]
    first, _, third = (doc["markdown_table"] for doc in docs)
    replies = [f"<grid>\n{first}", "no table", "<grid>" + third.replace("?", "7", 1)]  # stop string dropped
    results = [task.process_results(doc, [reply]) for doc, reply in zip(docs, replies, strict=True)]
    aggregate = task.aggregation()
    figures = {metric: aggregate[metric]([r[metric] for r in results]) for metric in results[0]}
    assert set(figures) == set(FIGURES)
    items = load_items(tasks[1], "original", "test")[:3]
    records = [{"id": item.id, "sample": 0, "answer": None, "output": reply} for item, reply in zip(items, replies)]
    expected = read_metrics(items, records, 1, "markdown")["read"]
    for name in FIGURES:
        assert figures[name] == pytest.approx(expected[name]["mean"], abs=1e-4), name
    assert figures["grid_exact"] == pytest.approx(100 / 3) and figures["blanks"] < 100


def test_scores_are_crossmath_evals_micro_macro_and_per_step(tasks):
    task = tasks[0]["hybrid"]
    docs = list(task.test_docs())
    first, _, third = docs[:3]
    wrong = " ".join("0" for _ in third["answer"].split()[1:])
    replies = [
        f"Across first.\n\nThen down.\n\n<answer>{first['answer']}</answer>",  # blank lines do not cut it
        f"Cut off by the token limit: <answer>{docs[1]['answer']}",  # an answer tag left open: no answer
        f"<think>try</think><answer>{third['answer'].split()[0]} {wrong}</answer>",  # only the first blank right
    ]
    results = [task.process_results(doc, [reply]) for doc, reply in zip(docs[:3], replies, strict=True)]
    aggregate = task.aggregation()
    figures = {metric: aggregate[metric]([r[metric] for r in results]) for metric in results[0]}
    blanks = len(third["answer"].split())
    assert figures["macro"] == pytest.approx(100 / 3)
    assert figures["micro"] == pytest.approx(100 * (1 + 0 + 1 / blanks) / 3)
    step1 = [k for doc in docs[:3] for k in doc["blank_steps"] if k == 1]
    right = sum(k == 1 for k in first["blank_steps"]) + (third["blank_steps"][0] == 1)
    assert figures["step1"] == pytest.approx(100 * right / len(step1))
    assert set(figures) == {"micro", "macro", "step1", "step2", "step3", "step4plus"}


def test_the_installed_filelock_is_one_lmms_eval_can_evaluate_with(lmms_tasks):
    # lmms-eval 0.7.3's simple_evaluate imports filelock._api, which filelock 4.3 removed: the lmms extra pins below
    assert importlib.util.find_spec("filelock._api") is not None, 'reinstall the extra: pip install ".[lmms]"'


def _replies(items: list) -> dict[str, str]:
    """Replies that read differently under a careless extraction: cut off inside the answer tag, a draft answer in
    reasoning (closed ``<think>``, ``<analysis>``, a lone ``</think>``), a half-wrong answer and none at all; the
    first puzzle gets its answer."""
    answers = [" ".join(item.answer) for item in items]
    zeros = [" ".join("0" for _ in item.answer) for item in items]
    first = items[4].answer[0]
    return {
        items[1].id: f"Working it out. <answer>{answers[1]}",  # cut off (finish_reason length)
        items[2].id: f"draft <answer>{zeros[2]}</answer></think>\n<answer>{answers[2]}</answer>",
        items[3].id: f"<analysis>draft <answer>{answers[3]}</answer></analysis>\nI am not sure.",
        items[4].id: f"<think>maybe <answer>{answers[4]}</answer></think><answer>{first} {zeros[4][2:]}</answer>",
        items[5].id: "I cannot tell.",
    }


def test_lmms_evals_cli_with_its_openai_model_reports_what_crossmath_eval_scores(tasks, tmp_path, monkeypatch,
                                                                                  capsys):
    """lmms-eval's own command line, its ``openai`` model and the answer server on 127.0.0.1: the same replies give
    lmms-eval's figures and ``crossmath-eval score``'s, in every modality."""
    main = pytest.importorskip("lmms_eval.__main__")
    from crossmath.eval import cli
    from crossmath.testing.answer_server import AnswerServer

    dataset = Path(tasks[1])
    items = load_items(str(dataset), "original", "test")
    replies = _replies(items)
    answering = [m for m in MODALITIES if m != "transcribe"]  # the tasks that answer
    task_names = [f"crossmath_original_{m}" for m in answering]
    monkeypatch.chdir(dataset.parent)  # the tasks read crossmath-data in the working folder
    monkeypatch.setenv("OPENAI_API_KEY", "unused")  # lmms-eval's openai model refuses to start without one
    with AnswerServer(items, replies=replies) as server:
        monkeypatch.setattr(sys, "argv", [
            "lmms-eval", "--include_path", str(TASKS_DIR), "--model", "openai", "--model_args",
            f"model_version={AnswerServer.MODEL},base_url={server.url}", "--tasks", ",".join(task_names),
            "--batch_size", "1", "--output_path", str(tmp_path / "lmms"), "--verbosity", "DEBUG"])  # DEBUG: raise
        main.cli_evaluate()
        assert all("stop" not in body for body in server.stats.bodies)  # lmms-eval's openai model sends no stop
        assert cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", AnswerServer.MODEL,
                         "--dataset", str(dataset), "--output", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert set(server.stats.by_puzzle.values()) == {2 * len(answering)}  # every puzzle once per tool and modality
    [results_file] = (tmp_path / "lmms").glob("*/*_results.json")
    lmms = json.loads(results_file.read_text())["results"]
    capsys.readouterr()
    blanks = len(items[4].answer)
    expected_micro = 100 * (1 + 0 + 1 + 0 + 1 / blanks + 0) / 6
    for modality, name in zip(answering, task_names, strict=True):
        run = tmp_path / "runs" / AnswerServer.MODEL / f"original-{modality}"
        rows = {r["id"]: r for r in map(json.loads, (run / "predictions.jsonl").read_text().splitlines())}
        assert all(rows[puzzle]["output"] == reply for puzzle, reply in replies.items())
        assert rows[items[1].id]["finish_reason"] == "length" and rows[items[1].id]["answer"] is None
        assert cli.main(["score", "--dataset", str(dataset), "--json", str(run / "predictions.jsonl")]) == 0
        scored = json.loads(capsys.readouterr().out)
        ours = {"micro": scored["micro"]["mean"], "macro": scored["macro"]["mean"],
                **{f"step{k}": scored["steps"][f"step{k}"]["mean"] for k in (1, 2, 3)},
                "step4plus": scored["steps"]["step4+"]["mean"]}
        theirs = {metric: lmms[name][f"{metric},none"] for metric in ours}
        with capsys.disabled():  # shown with -s: the two tools' figures side by side
            pairs = (f"{m} {theirs[m]:.1f} / {'n/a' if ours[m] is None else f'{ours[m]:.1f}'}" for m in ours)
            print(f"\n{modality:7} " + "  ".join(pairs) + "  (lmms-eval / crossmath-eval score)")
        assert theirs == pytest.approx({m: math.nan if v is None else v for m, v in ours.items()}, nan_ok=True)
        assert theirs["macro"] == pytest.approx(100 * 2 / 6) and theirs["micro"] == pytest.approx(expected_micro)
