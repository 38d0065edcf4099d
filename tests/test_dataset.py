"""crossmath-build: the dataset folder, its loading with datasets, determinism, leaks, resume, Hub, published layout."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, cast

import datasets
import pytest
import yaml
from huggingface_hub import HfApi
from PIL import Image

from crossmath import cli as crossmath_cli
from crossmath.dataset import BuildError, BuildSettings, build, merge, pipeline
from crossmath.dataset import cli as dataset_cli
from crossmath.dataset.chunks import ChunkResult
from crossmath.dataset.files import read_json
from crossmath.dataset.hub import push_to_hub
from crossmath.dataset.items import leak_key, puzzle_at
from crossmath.eval.sources import load_items
from crossmath.puzzles.published_names import puzzle_name
from crossmath.puzzles.records import RECORD_KEYS, read_records
from crossmath.puzzles.text import to_markdown
from crossmath.render import STYLES

SMALL = BuildSettings(train_size=110, test_size=12, styles=(STYLES["original"], STYLES["altstyle"]),
                      outputs=("hf", "crossmath-jsonl"), version="test")


def data_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("builds") / "small"
    build(out, SMALL, num_proc=1, progress=False)
    return out


def test_every_config_and_split_loads_with_datasets(small):
    loaded = {(style, split): datasets.load_dataset(str(small), style, split=split)
              for style in ("original", "altstyle") for split in ("train", "test")}
    assert len(loaded["original", "test"]) == 12 and len(loaded["altstyle", "train"]) == 110
    test_original, test_alt = loaded["original", "test"], loaded["altstyle", "test"]
    assert test_original["id"] == test_alt["id"] == [f"test-{i:05d}" for i in range(12)]
    assert test_original["answer"] == test_alt["answer"]
    assert set(test_alt["style"]) == {"altstyle"}
    row = test_original[0]
    assert isinstance(row["image"], Image.Image) and row["image"].size == (row["cols"] * 55, row["rows"] * 55)
    assert row["num_blanks"] == len(row["answer"].split()) == len(row["blank_steps"])
    assert row["solving_steps"][0] and row["markdown_table"].startswith("|")
    assert [r["difficulty"] for r in test_original] == ["easy"] * 4 + ["medium"] * 4 + ["hard"] * 4


def test_card_declares_configs_features_splits_licence_and_task(small):
    text = (small / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["license"] == "cc-by-4.0" and "image-text-to-text" in header["task_categories"]
    assert [c["config_name"] for c in header["configs"]] == ["original", "altstyle"]
    info = {entry["config_name"]: entry for entry in header["dataset_info"]}
    assert {s["name"]: s["num_examples"] for s in info["altstyle"]["splits"]} == {"train": 110, "test": 12}
    assert {"name": "image", "dtype": "image"} in info["original"]["features"]
    manifest = read_json(small / "crossmath_build.json")
    assert manifest["fingerprint"] in text and "build seed 0" in text and "![example](example.png)" in text
    assert (small / "example.png").is_file()


# The published release's names of each preset (its README), and the documented rule for any other style.
PUBLISHED_LAYOUT = {
    "original": ("Original", "testset_hr.jsonl", "test_images_blank_hr/math_puzzle_0001_blank.png",
                 "test_images_hr/math_puzzle_0001.png"),
    "noborder": ("Noborder", "testset_noborder.jsonl",
                 "test_images_blank_noborder/math_puzzle_0001_blank_noborder.png",
                 "test_images_noborder/math_puzzle_0001_noborder.png"),
    "beige": ("Beige", "testset_hr_beige.jsonl", "test_images_blank_hr_beige/math_puzzle_0001_blank_hr_beige.png",
              "test_images_hr_beige/math_puzzle_0001_hr_beige.png"),
    "altstyle": ("Altstyle", "testset_altstyle.jsonl",
                 "test_images_blank_altstyle/math_puzzle_0001_blank_altstyle.png",
                 "test_images_altstyle/math_puzzle_0001_altstyle.png"),
    "mono": ("Mono", "testset_mono.jsonl", "test_images_blank_mono/math_puzzle_0001_blank_mono.png",
             "test_images_mono/math_puzzle_0001_mono.png"),
}


@pytest.fixture(scope="module")
def every_style(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny build in the four presets and one custom style, with solved images, in both layouts."""
    mono = dataclasses.replace(STYLES["original"], name="mono", font="LiberationMono-Regular")
    settings = BuildSettings(train_size=2, test_size=3, styles=(*STYLES.values(), mono), solved_images=True,
                             outputs=("hf", "crossmath-jsonl"), version="test")
    out = tmp_path_factory.mktemp("builds") / "every-style"
    build(out, settings, num_proc=1, progress=False)
    return out


@pytest.mark.parametrize("style", PUBLISHED_LAYOUT)
@pytest.mark.parametrize("split", ["test", "train"])
def test_each_style_is_exported_under_its_published_names_and_reads_back(every_style, style, split):
    folder_name, records_file, first_blank, first_solved = (
        name.replace("test", split) for name in PUBLISHED_LAYOUT[style])
    folder = every_style / "published" / "data" / folder_name
    records = read_records(folder / records_file)
    assert (records[0]["img_blank"], records[0]["img"]) == (first_blank, first_solved)
    assert list(records[0]) == list(RECORD_KEYS)
    rows = datasets.load_dataset(str(every_style), style, split=split).cast_column(
        "image", datasets.Image(decode=False)).cast_column("solved_image", datasets.Image(decode=False))
    assert len(records) == len(rows) == {"test": 3, "train": 2}[split]
    for record, row in zip(records, rows):
        assert record["markdown_table"] == row["markdown_table"]
        assert (folder / record["img_blank"]).read_bytes() == row["image"]["bytes"]
        assert (folder / record["img"]).read_bytes() == row["solved_image"]["bytes"]
    assert crossmath_cli.main(["verify", str(folder / records_file)]) == 0
    items = load_items(str(folder / records_file), style, split)
    assert [item.id for item in items] == [f"math_puzzle_{n:04d}" for n in range(1, len(rows) + 1)]
    assert [" ".join(item.answer) for item in items] == rows["answer"]
    assert [item.steps for item in items] == [tuple(f"step{k}" for k in row["blank_steps"]) for row in rows]
    assert items[-1].image().tobytes() == Image.open(io.BytesIO(rows[-1]["image"]["bytes"])).convert("RGB").tobytes()


def test_the_published_layout_holds_nothing_else(every_style):
    layout = every_style / "published" / "data"
    assert sorted(p.name for p in layout.iterdir()) == sorted(names[0] for names in PUBLISHED_LAYOUT.values())
    beige = sorted(str(p.relative_to(layout / "Beige")) for p in (layout / "Beige").rglob("*") if p.is_file())
    assert beige == [
        *(f"test_images_blank_hr_beige/math_puzzle_000{n}_blank_hr_beige.png" for n in (1, 2, 3)),
        *(f"test_images_hr_beige/math_puzzle_000{n}_hr_beige.png" for n in (1, 2, 3)),
        "testset_hr_beige.jsonl",
        *(f"train_images_blank_hr_beige/math_puzzle_000{n}_blank_hr_beige.png" for n in (1, 2)),
        *(f"train_images_hr_beige/math_puzzle_000{n}_hr_beige.png" for n in (1, 2)),
        "trainset_hr_beige.jsonl",
    ]
    assert not (every_style / "published" / ".parts").exists()


def test_a_foreign_image_name_without_blank_names_its_puzzle_as_it_is():
    assert puzzle_name("images/puzzle7.png") == "puzzle7"


def test_same_settings_same_files_whatever_the_process_count_or_sharding(small, tmp_path):
    parallel = tmp_path / "parallel"
    report = build(parallel, SMALL, num_proc=2, progress=False)
    assert report.fingerprint == read_json(small / "crossmath_build.json")["fingerprint"]
    assert data_files(parallel) == data_files(small)
    shards = [tmp_path / f"shard{k}" for k in (1, 2)]
    for k, folder in enumerate(shards, start=1):
        build(folder, SMALL, num_proc=1, shard=(k, 2), progress=False)
    merged = merge(tmp_path / "merged", shards)
    assert merged.fingerprint == report.fingerprint
    assert data_files(tmp_path / "merged") == data_files(small)
    assert (tmp_path / "merged" / "published" / "data" / "Original" / "trainset_hr.jsonl").read_bytes() == \
        (small / "published" / "data" / "Original" / "trainset_hr.jsonl").read_bytes()


def test_merge_refuses_incomplete_shards(tmp_path):
    build(tmp_path / "one", SMALL, num_proc=1, shard=(1, 2), progress=False)
    with pytest.raises(BuildError, match="do not cover"):
        merge(tmp_path / "merged", [tmp_path / "one"])


def test_a_train_puzzle_equal_to_a_test_puzzle_up_to_blanks_is_redrawn():
    first, redraws = puzzle_at(SMALL, "train", 3, frozenset())
    assert redraws == 0
    shown = [cell for cell, _ in first.numbers if cell not in first.blanks]
    blanked_otherwise = dataclasses.replace(first, blanks=tuple(shown[:2]))  # same grid and numbers, other blanks
    assert blanked_otherwise != first and to_markdown(blanked_otherwise) != to_markdown(first)
    assert leak_key(blanked_otherwise) == leak_key(first)
    again, redraws = puzzle_at(SMALL, "train", 3, frozenset({leak_key(blanked_otherwise)}))
    assert redraws == 1 and leak_key(again) != leak_key(first)


def test_the_leak_check_refuses_a_shared_puzzle():
    common: dict[str, Any] = dict(rows=1, digests={}, redrawn=0, profile={})
    results = [ChunkResult("test", 0, keys=["k1", "k2"], **common), ChunkResult("train", 0, keys=["k2"], **common)]
    with pytest.raises(BuildError, match="1 train puzzles equal test puzzles"):
        pipeline._leak_check(results, SMALL)


def test_an_interrupted_build_leaves_no_finished_folder_and_resumes(small, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    calls = []
    real = pipeline.build_chunk

    def interrupted(*args):
        calls.append(args[2].name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(pipeline, "build_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(out, SMALL, num_proc=1, progress=False)
    assert not out.exists() and (tmp_path / "resumed.partial").is_dir()
    with pytest.raises(BuildError, match="--resume"):
        build(out, SMALL, num_proc=1, progress=False)
    with pytest.raises(BuildError, match="different settings"):
        build(out, dataclasses.replace(SMALL, seed=1), num_proc=1, progress=False, resume=True)
    monkeypatch.setattr(pipeline, "build_chunk", real)
    report = build(out, SMALL, num_proc=1, progress=False, resume=True)
    assert report.fingerprint == read_json(small / "crossmath_build.json")["fingerprint"]
    assert data_files(out) == data_files(small)
    assert not (tmp_path / "resumed.partial").exists()
    with pytest.raises(BuildError, match="already exists"):
        build(out, SMALL, num_proc=1, progress=False)


def test_different_seed_different_fingerprint(small, tmp_path):
    other = build(tmp_path / "other", dataclasses.replace(SMALL, seed=5, outputs=("hf",)), progress=False)
    assert other.fingerprint != read_json(small / "crossmath_build.json")["fingerprint"]


class RecordingHub:
    """Stands in for HfApi: records the calls, and 'uploads' by copying the folder to a local remote."""

    def __init__(self, remote: Path, fail_with: Exception | None = None):
        self.calls: list[tuple] = []
        self.remote = remote
        self.fail_with = fail_with

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        if self.fail_with:
            raise self.fail_with

    def upload_folder(self, **kwargs):
        import shutil

        self.calls.append(("upload_folder", kwargs))
        shutil.copytree(kwargs["folder_path"], self.remote)


def test_push_makes_the_expected_calls_and_the_uploaded_folder_loads(small, tmp_path):
    hub = RecordingHub(tmp_path / "remote")
    url = push_to_hub(small, "someone/crossmath", private=True, token="hf_secret", api=cast(HfApi, hub))
    assert url == "https://huggingface.co/datasets/someone/crossmath"
    assert hub.calls[0] == ("create_repo", "someone/crossmath",
                            {"repo_type": "dataset", "private": True, "exist_ok": True})
    assert hub.calls[1][0] == "upload_folder"
    assert hub.calls[1][1]["repo_id"] == "someone/crossmath" and hub.calls[1][1]["repo_type"] == "dataset"
    assert Path(hub.calls[1][1]["folder_path"]) == small
    uploaded = datasets.load_dataset(str(tmp_path / "remote"), "original", split="test")
    assert len(uploaded) == 12


def test_push_needs_a_login(small, monkeypatch):
    monkeypatch.setattr("crossmath.dataset.hub.get_token", lambda: None)
    with pytest.raises(BuildError, match="not logged in"):
        push_to_hub(small, "someone/crossmath")


def test_push_to_someone_elses_repo_is_a_clear_error(small, tmp_path):
    from huggingface_hub.errors import HfHubHTTPError

    class Response:
        status_code = 403
        headers: ClassVar[dict[str, str]] = {}
        request = None

    error = HfHubHTTPError("403 Forbidden", response=Response())  # type: ignore[arg-type]
    hub = RecordingHub(tmp_path / "r", fail_with=error)
    with pytest.raises(BuildError, match="cannot write to other/repo"):
        push_to_hub(small, "other/repo", token="hf_secret", api=cast(HfApi, hub))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crossmath.dataset.cli", *args], capture_output=True, text=True)


def test_command_builds_and_reports(tmp_path):
    out = run("--out", str(tmp_path / "ds"), "--train-size", "5", "--test-size", "3", "--styles", "beige",
              "--text-formats", "markdown", "--num-proc", "1", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "fingerprint:" in out.stdout and "leak check: no puzzle" in out.stdout
    loaded = datasets.load_dataset(str(tmp_path / "ds"), "beige", split="train")
    assert "grid_json" not in loaded.column_names and len(loaded) == 5


@pytest.mark.parametrize("args, message", [
    (["--shard", "3/2"], "shard 3/2 does not exist"),
    (["--styles", "nope"], "unknown style 'nope'"),
    (["--text-formats", "xml"], "unknown text formats: xml"),
    (["--test-mix", "1,2"], "expected easy,medium,hard weights"),
])
def test_bad_input_is_one_error_line(tmp_path, args, message, capsys):
    status: int | str | None
    try:  # in process: the command's own main, as its console script calls it (argparse's refusals exit)
        status = dataset_cli.main(["--out", str(tmp_path / "x"), "--train-size", "1", "--test-size", "1", *args])
    except SystemExit as exit:
        status = exit.code
    stderr = capsys.readouterr().err
    assert status == 2 and "Traceback" not in stderr
    assert message in stderr.strip().splitlines()[-1]
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_push_of_a_finished_build_reuses_it_and_never_prints_the_token(tmp_path):
    args = ["--out", str(tmp_path / "ds"), "--train-size", "2", "--test-size", "2", "--styles", "original",
            "--num-proc", "1", "--no-progress"]
    assert run(*args).returncode == 0
    out = run(*args, "--push-to-hub", "someone/x", "--token", "hf_topsecret_123")  # the Hub is offline here
    assert "already holds this build" in out.stdout
    assert "hf_topsecret_123" not in out.stdout + out.stderr
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("crossmath-build: error: upload to someone/x failed")


def test_help_lists_every_option():
    text = run("--help").stdout
    for option in ("--out", "--train-size", "--test-size", "--test-mix", "--train-mix", "--seed", "--styles",
                   "--text-formats", "--solved-images", "--num-proc", "--shard", "--format", "--resume",
                   "--push-to-hub", "--private", "--token", "--merge", "--vary", "--one-at-a-time", "--experiment",
                   "--check-legibility", "--min-legibility", "--operators", "--range", "--depth", "--blanks",
                   "--equations", "--max-rows", "--max-cols"):
        assert option in text
