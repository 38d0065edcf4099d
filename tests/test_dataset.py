"""crossmath-build: the dataset folder, its loading with datasets, determinism, leaks, resume, Hub, published layout."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import yaml
from PIL import Image

from crossmath.dataset import BuildError, BuildSettings, build, merge, pipeline
from crossmath.dataset.chunks import ChunkResult
from crossmath.dataset.files import read_json
from crossmath.dataset.hub import push_to_hub
from crossmath.dataset.items import leak_key, puzzle_at
from crossmath.puzzles.records import read_records
from crossmath.puzzles.verify import check_record
from crossmath.render import STYLES

SMALL = BuildSettings(train_size=110, test_size=12, styles=(STYLES["original"], STYLES["altstyle"]),
                      outputs=("hf", "crossmath-jsonl"), version="test")


def data_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
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


def test_published_layout_reads_back_and_verifies(small):
    folder = small / "published" / "data" / "Altstyle"
    records = read_records(folder / "testset_hr.jsonl")
    assert len(records) == 12 and len(read_records(folder / "trainset_hr.jsonl")) == 110
    assert records[0]["img_blank"] == "test_images_blank_hr/math_puzzle_0001_blank.png"
    hf = datasets.load_dataset(str(small), "altstyle", split="test")
    for record, row in zip(records, hf):
        assert check_record(record) == []
        assert record["markdown_table"] == row["markdown_table"]
        image = Image.open(folder / record["img_blank"])
        assert image.size == row["image"].size
        assert image.convert("RGB").tobytes() == row["image"].convert("RGB").tobytes()


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


def test_a_train_puzzle_equal_to_a_test_puzzle_is_redrawn():
    first, redraws = puzzle_at(SMALL, "train", 3, frozenset())
    assert redraws == 0
    again, redraws = puzzle_at(SMALL, "train", 3, frozenset({leak_key(first)}))
    assert redraws == 1 and leak_key(again) != leak_key(first)
    blanked_otherwise = first.with_info()
    assert leak_key(blanked_otherwise) == leak_key(first)


def test_the_leak_check_refuses_a_shared_puzzle():
    common = dict(rows=1, digests={}, parquet_bytes={}, redrawn=0, profile={})
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
    url = push_to_hub(small, "someone/crossmath", private=True, token="hf_secret", api=hub)
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
        headers: dict = {}
        request = None

    error = HfHubHTTPError("403 Forbidden", response=Response())  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="cannot write to other/repo"):
        push_to_hub(small, "other/repo", token="hf_secret", api=RecordingHub(tmp_path / "r", fail_with=error))


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
def test_bad_input_is_one_error_line(tmp_path, args, message):
    out = run("--out", str(tmp_path / "x"), "--train-size", "1", "--test-size", "1", *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr.strip().splitlines()[-1]


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
