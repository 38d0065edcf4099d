"""Hostile input to the build, generate, render and verify side (issue 22).

Each test is the regression test of one point of the issue, numbered as there.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from crossmath import generate
from crossmath.cli import main as crossmath_main
from crossmath.dataset import BuildError, BuildSettings, build, merge, pipeline
from crossmath.dataset.cli import main as build_main
from crossmath.dataset.pipeline import MANIFEST, PARTIAL_STATE
from crossmath.errors import SettingsError
from crossmath.puzzles.published_names import published_names
from crossmath.puzzles.records import to_record, write_records
from crossmath.puzzles.verify import judge_record
from crossmath.render import STYLES, StyleError, render, style_from_dict

ROOT = Path(__file__).parents[1]
TINY = BuildSettings(train_size=0, test_size=3, styles=(STYLES["original"],), outputs=("hf",), version="test")
TWO_CHUNKS = BuildSettings(train_size=0, test_size=101, test_mix=(1, 0, 0), styles=(STYLES["original"],),
                           outputs=("hf", "crossmath-jsonl"), version="test")


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(lines)
    return lines[-1]


def record(**changes: object) -> dict:
    img, img_blank = published_names("original").image_names(1)
    return {**to_record(generate("medium", seed=1), img=img, img_blank=img_blank), **changes}


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1. --overwrite never deletes a folder named OUT.partial that no build made ----------------------------------------

def test_1_overwrite_keeps_a_users_folder_named_like_the_partial_build(tmp_path):
    mine = tmp_path / "work.partial"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    with pytest.raises(BuildError, match=r"work\.partial is in the way: it is not an unfinished crossmath build"):
        build(tmp_path / "work", TINY, progress=False, overwrite=True)
    with pytest.raises(BuildError, match="is in the way"):
        build(tmp_path / "work", TINY, progress=False, resume=True)
    assert (mine / "thesis.tex").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work.partial"]


# -- 2. a build interrupted while finishing resumes; SIGTERM says what happened ---------------------------------------

@pytest.mark.parametrize("step, passed", [("write_split", 0), ("dataset_card", 0), ("_check_replaceable", 1)])
def test_2_a_build_interrupted_while_finishing_resumes(tmp_path, monkeypatch, step, passed):
    expected = build(tmp_path / "reference", TINY, progress=False)
    out = tmp_path / "ds"
    build(out, TINY, progress=False)  # so that the last step replaces a build
    real = getattr(pipeline, step)
    calls = []

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) <= passed:  # _check_replaceable: the check before the build is not the one at the end
            return real(*args, **kwargs)
        monkeypatch.setattr(pipeline, step, real)  # once
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, step, interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(out, TINY, progress=False, overwrite=True)
    assert (tmp_path / "ds.partial" / PARTIAL_STATE).is_file()
    report = build(out, TINY, progress=False, resume=True, overwrite=True)
    assert report.fingerprint == expected.fingerprint and report.rows == 3
    assert tree(out) == tree(tmp_path / "reference")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "reference"]


STOP_WHILE_FINISHING = """
import sys
from crossmath.dataset import pipeline
from crossmath.dataset.cli import main

def write_split(*args, **kwargs):
    print("finishing", flush=True)
    sys.stdin.readline()  # until the test has sent its signal

pipeline.write_split = write_split
sys.exit(main(sys.argv[1:]))
"""


def test_2_sigterm_while_finishing_says_so_and_the_build_resumes(tmp_path):
    out = tmp_path / "ds"
    argv = ["--out", str(out), "--test-size", "3", "--train-size", "0", "--styles", "original", "--no-progress",
            "--num-proc", "1"]
    process = subprocess.Popen([sys.executable, "-c", STOP_WHILE_FINISHING, *argv], cwd=tmp_path,
                               env={"PYTHONPATH": str(ROOT), "PATH": ""}, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "finishing\n", process.communicate()
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in errors
    assert errors.strip().splitlines()[-1] == (f"crossmath-build: interrupted; the work done is kept in {out}.partial:"
                                               " run the same command with --resume to continue")
    assert build_main([*argv, "--resume"]) == 0
    assert (out / MANIFEST).is_file() and not (tmp_path / "ds.partial").exists()


# -- 5. --merge copies only the files the shards' builds wrote ---------------------------------------------------------

def test_5_merge_leaves_stray_files_and_links_of_a_shard_behind(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    shards = [tmp_path / "sh1", tmp_path / "sh2"]
    for k, shard in enumerate(shards, start=1):
        build(shard, TWO_CHUNKS, progress=False, shard=(k, 2))
    (shards[0] / "notes.txt").symlink_to(secret)
    (shards[0] / "draft.txt").write_text("mine")
    (shards[1] / "data").mkdir()
    (shards[1] / "data" / "extra.parquet").write_text("not ours")
    merged = merge(tmp_path / "merged", shards)
    whole = build(tmp_path / "whole", TWO_CHUNKS, progress=False)
    assert merged.fingerprint == whole.fingerprint
    assert tree(tmp_path / "merged").keys() == tree(tmp_path / "whole").keys()
    files = json.loads((tmp_path / "merged" / MANIFEST).read_text())["files"]
    assert not any(name in files for name in ("notes.txt", "draft.txt", "data/extra.parquet"))


def test_5_merge_refuses_a_shard_whose_listed_file_is_a_link(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    shards = [tmp_path / "sh1", tmp_path / "sh2"]
    for k, shard in enumerate(shards, start=1):
        build(shard, TWO_CHUNKS, progress=False, shard=(k, 2))
    listed = json.loads((shards[0] / MANIFEST).read_text())["files"]
    victim = shards[0] / next(name for name in listed if name.endswith(".arrow"))
    victim.unlink()
    victim.symlink_to(secret)
    with pytest.raises(BuildError, match=r"sh1 is damaged: .*\.arrow, listed in its crossmath_build.json"):
        merge(tmp_path / "merged", shards)
    assert not (tmp_path / "merged").exists() and not (tmp_path / "merged.partial").exists()


# -- 9. --overwrite refuses to remove empty folders and folder links it did not write ---------------------------------

@pytest.mark.parametrize("kind", ["empty folder", "folder link"])
def test_9_overwrite_keeps_empty_folders_and_folder_links(tmp_path, kind):
    out = tmp_path / "ds"
    build(out, TINY, progress=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if kind == "empty folder":
        (out / "results").mkdir()
    else:
        (out / "results").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(BuildError, match=r"holds files the build did not write \(results/\)"):
        build(out, TINY, progress=False, overwrite=True)
    assert (out / "results").is_dir() and (out / MANIFEST).is_file()


# -- 18. settings errors come before anything is made; one found mid-build removes what it made ----------------------

@pytest.mark.parametrize("argv, message", [
    (["--seed", "99999999999999999999999999999"], "seed must be a whole number from -2**63 to 2**63 - 1"),
    (["--range", "100000000000-999999999999"], "numbers have at most 9 digits"),
    (["--out", "ds\udcff"], "is not valid UTF-8"),
])
def test_18_bad_settings_are_refused_before_anything_is_made(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert build_main(["--out", "ds", "--test-size", "2", "--train-size", "0", "--styles", "original",
                       "--no-progress", "--num-proc", "1", *argv]) == 2
    assert message in error_line(capsys)
    assert not any(tmp_path.iterdir())


def test_18_a_settings_error_found_mid_build_removes_the_partial_build(tmp_path, monkeypatch):
    def refused(*args: object) -> None:
        raise SettingsError("this font cannot draw a digit")

    monkeypatch.setattr(pipeline, "build_chunk", refused)
    with pytest.raises(SettingsError, match="cannot draw"):
        build(tmp_path / "ds", TINY, progress=False)
    assert not any(tmp_path.iterdir())


# -- 25. --merge of a folder that is not a shard -----------------------------------------------------------------------

def test_25_merge_of_a_whole_build_says_it_is_not_a_shard(tmp_path, capsys):
    build(tmp_path / "ds", TINY, progress=False)
    assert build_main(["--out", str(tmp_path / "merged"), "--merge", str(tmp_path / "ds")]) == 2
    assert error_line(capsys).endswith("ds is a whole dataset, not a shard: it needs no merging (merge the folders "
                                       "that crossmath-build --shard K/N wrote)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


# -- 4. generate -o writes through links, devices and pipes, and never leaves its temporary file ----------------------

def test_4_generate_writes_through_a_link_and_into_a_pipe(tmp_path):
    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("old\n")
    link.symlink_to(real)
    assert crossmath_main(["generate", "-o", str(link)]) == 0
    assert link.is_symlink() and real.read_text().startswith("|")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there, so the writer's open does not wait
    try:
        assert crossmath_main(["generate", "--count", "2", "-o", str(pipe)]) == 0
        assert os.read(reader, 1 << 16).decode().count("\n\n") == 1
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "pipe", "real.txt"]


def test_4_sigterm_removes_the_temporary_file_of_generate(tmp_path):
    out = tmp_path / "many.txt"
    process = subprocess.Popen([sys.executable, "-m", "crossmath.cli", "generate", "--count", "100000", "-o",
                                str(out)], env={"PYTHONPATH": str(ROOT), "PATH": ""}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".many.txt.tmp-*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert list(tmp_path.glob(".many.txt.tmp-*")), process.communicate()
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and errors.strip().splitlines()[-1] == "crossmath: interrupted"
    assert not any(tmp_path.iterdir())


# -- 10. a number range beyond what the verifier reads is refused at once ---------------------------------------------

def test_10_a_huge_range_is_refused_at_once(tmp_path, capsys):
    assert crossmath_main(["generate", "--range", "1-99999999999999999999"]) == 2
    assert error_line(capsys).endswith("numbers have at most 9 digits (up to 999999999)")
    experiment = tmp_path / "exp.toml"
    experiment.write_text("test_size = 2\ntrain_size = 0\n[puzzle]\nrange = [1, 99999999999999999]\n")
    assert build_main(["--out", str(tmp_path / "ds"), "--experiment", str(experiment)]) == 2
    assert error_line(capsys).endswith("numbers have at most 9 digits (up to 999999999)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.toml"]


# -- 17. an experiment file is read with the rules of the options ------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ("puzzle = 5", "puzzle must be a table ([puzzle]), not 5"),
    ("vary = 5", "vary must be a table ([vary]), not 5"),
    ('test_mix = [1, "a", 3]', "test_mix: expected easy,medium,hard weights such as 90,85,75, got '1,a,3'"),
    ("test_mix = [nan, 1, 1]", "test_mix: expected easy,medium,hard weights"),
    ("styles = [1, 2]", "unknown style '1'"),
    ('styles = [["original"]]', "styles must be a number, text or a list of them"),
    ("text_formats = [[]]", "text_formats must be a number, text or a list of them"),
    ("min_legibility = nan", "min_legibility: expected a percentage from 0 to 100, got 'nan'"),
    ("min_legibility = -5.0", "min_legibility: expected a percentage from 0 to 100, got '-5.0'"),
    ("solved_images = 1", "solved_images must be true or false, not 1"),
    ("[puzzle]\noperators = 5", "unknown operator '5'"),
    ("[puzzle]\nmax_rows = 10.5", "max_rows: expected a number or MIN-MAX, got '10.5'"),
    ("[puzzle]\nrange = 1979-05-27", "[puzzle] range must be a number, MIN-MAX text or a [min, max] list"),
    ("[vary]\nfont_size = [1979-05-27]", "[vary] font_size must be a list of levels (numbers or text)"),
    ("[vary]\nfont_size = [{a = 1}]", "[vary] font_size must be a list of levels (numbers or text)"),
    ("[vary]\nfont_size = [inf]", "font_size: 'inf' is not a level of this factor"),
    ("[vary]\nblur = [nan]", "blur: 'nan' is not a level of this factor"),
])
def test_17_experiment_values_are_checked_as_the_options_are(tmp_path, capsys, body, message):
    experiment = tmp_path / "exp.toml"
    experiment.write_text(f"test_size = 2\ntrain_size = 0\n{body}\n")
    assert build_main(["--out", str(tmp_path / "ds"), "--experiment", str(experiment), "--no-progress"]) == 2
    assert message in error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.toml"]


def test_17_an_experiment_file_that_is_not_text_is_refused(tmp_path, capsys):
    image = tmp_path / "exp.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert build_main(["--out", str(tmp_path / "ds"), "--experiment", str(image)]) == 2
    assert error_line(capsys).endswith("exp.png: it is not UTF-8 text (a TOML file)")


# -- 14. render --record refuses a device (its one endless line would fill the memory) --------------------------------

def test_14_render_record_refuses_a_device_or_a_pipe(tmp_path):
    pipe = tmp_path / "records.jsonl"
    os.mkfifo(pipe)  # reading it would wait for ever, as reading /dev/zero would fill the memory
    result = subprocess.run([sys.executable, "-m", "crossmath.cli", "render", "--record", str(pipe), "-o",
                             str(tmp_path / "p.png")], env={"PYTHONPATH": str(ROOT), "PATH": ""},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"crossmath: error: {pipe} is not a regular file (a device or a pipe); give a .jsonl file of records")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.jsonl"]


# -- 15. a number too long for Python's int conversion is the line's defect --------------------------------------------

def huge_record_file(tmp_path: Path, **changes: object) -> Path:
    """A records file whose one record has a 20,000-digit integer in its ``problems`` field."""
    path = tmp_path / "huge.jsonl"
    write_records(path, [record(**changes)])
    text = path.read_text()
    path.write_text(re.sub(r'"problems": \d+', '"problems": 1' + "0" * 20_000, text))
    return path


@pytest.mark.parametrize("command", ["verify", "render", "profile"])
def test_15_a_20000_digit_number_is_one_line_of_error(tmp_path, capsys, command):
    path = huge_record_file(tmp_path)
    argv = {"verify": ["verify", str(path)], "render": ["render", "--record", str(path), "-o", str(tmp_path / "p.png")],
            "profile": ["profile", str(path)]}[command]
    assert crossmath_main(argv) in (1, 2)
    report = capsys.readouterr()
    assert "Traceback" not in report.err
    assert "holds a number of more than 4300 digits, too long to be a record's value" in report.out + report.err
    assert not (tmp_path / "p.png").exists()


# -- 16. a difficulty that is not text ---------------------------------------------------------------------------------

def test_16_a_difficulty_that_is_not_text_is_a_warning_and_profile_names_its_level(tmp_path, capsys):
    assert judge_record(record(difficulty=5)).warnings == ['difficulty is 5 (a number), not text such as "medium"']
    path = tmp_path / "records.jsonl"
    write_records(path, [record(difficulty=5), record(difficulty=[1])])
    (tmp_path / record()["img_blank"]).parent.mkdir(parents=True)
    (tmp_path / record()["img_blank"]).write_bytes(b"")
    # a whole number names a level, as crossmath-eval reads it; anything else that is not text is one error line
    assert crossmath_main(["profile", str(path)]) == 2
    assert error_line(capsys).endswith('difficulty is a list, not text such as "medium"')
    write_records(path, [record(difficulty=5)])
    assert crossmath_main(["profile", str(path)]) == 0
    assert "| 5 |" in capsys.readouterr().out


# -- 13. a contact sheet is held to the pixel limit before drawing, and drawn at --scale ------------------------------

def test_13_a_contact_sheet_of_500_styles_is_refused_and_scale_applies(tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert crossmath_main(["render", "--contact-sheet", "--style", ",".join(["original"] * 500), "-o",
                           str(sheet)]) == 2
    assert error_line(capsys).endswith("beyond the limit of 50,000,000 pixels; show fewer styles or levels, or use a "
                                       "smaller scale")
    levels = ",".join(str(level) for level in range(10, 410))
    assert crossmath_main(["render", "--contact-sheet", "--vary", f"blur={levels}", "-o", str(sheet)]) == 2
    assert error_line(capsys).endswith("a sheet of 400 images would be 250020x755 pixels, beyond the limit of "
                                       "50,000,000 pixels; show fewer styles or levels, or use a smaller scale")
    assert not sheet.exists()
    assert crossmath_main(["render", "--contact-sheet", "--style", "original", "-o", str(sheet)]) == 0
    width = Image.open(sheet).width
    assert crossmath_main(["render", "--contact-sheet", "--style", "original", "--scale", "2", "-o", str(sheet)]) == 0
    assert Image.open(sheet).width == 2 * (width - 40) + 40  # the image doubles, the gaps do not


# -- 22. numbers wider than their cell are refused, not clipped --------------------------------------------------------

def test_22_a_font_too_wide_for_three_digit_numbers_is_refused(tmp_path, capsys):
    big = style_from_dict({"base": "original", "name": "big", "font_size": 40})  # its height fits the cell
    puzzle = generate("medium", seed=0)
    assert max(v for v in puzzle.values.values() if v is not None) >= 100
    with pytest.raises(StyleError, match=r"a 3-digit number at font_size 40 is 66\.8 px wide, wider than its 55 px"):
        render(puzzle, big)
    assert render(generate("medium", seed=0, number_range=(1, 60)), big).size  # two digits fit
    with pytest.raises(SettingsError, match="config big: style 'big': a 3-digit number at font_size 40"):
        BuildSettings(train_size=0, test_size=2, styles=(big,))
    BuildSettings(train_size=0, test_size=2, styles=(big,), puzzle={"number_range": [1, 60]})
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"base": "original", "name": "big", "font_size": 40}))
    assert crossmath_main(["render", "--style", str(path), "-o", str(tmp_path / "p.png")]) == 2
    assert "wider than its 55 px cell, so numbers would be clipped" in error_line(capsys)
    assert not (tmp_path / "p.png").exists()
