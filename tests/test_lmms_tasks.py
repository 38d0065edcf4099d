"""The lmms-eval task package, loaded by lmms-eval's own task loader, scoring as crossmath-eval scores."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from crossmath.dataset import BuildSettings, build
from crossmath.eval.prompts import DEFAULT_TEMPLATES, build_prompt
from crossmath.eval.sources import load_items
from crossmath.render import STYLES
from crossmath.tasks import TASKS_DIR

MODALITIES = ("text", "image", "hybrid")
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


def test_stop_strings_are_explicit_and_never_a_blank_line(tasks):
    for task in tasks[0].values():
        assert task.config.generation_kwargs["until"] == ["</answer>"]


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


def test_scores_are_crossmath_evals_micro_macro_and_per_step(tasks):
    task = tasks[0]["hybrid"]
    docs = list(task.test_docs())
    first, _, third = docs[:3]
    wrong = " ".join("0" for _ in third["answer"].split()[1:])
    replies = [
        f"Across first.\n\nThen down.\n\n<answer>{first['answer']}",  # lmms-eval dropped the stop string
        "I cannot tell.",  # no answer: every blank wrong
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
