"""Hostile but realistic use (issue 11): bad files, odd settings, interruptions, concurrent runs.

Each test is the regression test of one point of the issue, numbered as there.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from terminal import as_in_a_terminal

from crossmath import CrossmathError, generate
from crossmath.cli import main as crossmath_main
from crossmath.dataset import BuildError, BuildSettings, build, merge
from crossmath.dataset.cli import main as build_main
from crossmath.dataset.lock import LockedError, build_lock
from crossmath.dataset.pipeline import MANIFEST
from crossmath.errors import SettingsError
from crossmath.puzzles.model import MAX_SIDE
from crossmath.puzzles.published_names import published_names
from crossmath.puzzles.records import to_record, write_records
from crossmath.puzzles.verify import judge_record, verify_file
from crossmath.render import STYLES, RenderError, StyleError, render, style_from_dict
from crossmath.render.styles import Style

ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TINY = BuildSettings(train_size=0, test_size=3, styles=(STYLES["original"],), outputs=("hf",), version="test")


def record(**changes: object) -> dict:
    img, img_blank = published_names("original").image_names(1)
    return {**to_record(generate("medium", seed=1), img=img, img_blank=img_blank), **changes}


def table(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)


def all_blank(equations: int) -> dict:
    """A record of a real puzzle with every number blanked: the uniqueness search has to branch everywhere."""
    puzzle = generate("hard", seed=1, equations=equations, max_rows=11, max_cols=19)
    original = to_record(puzzle, img="a.png", img_blank="a_blank.png")
    grid = [["?" if text.isdigit() else text for text in row] for row in puzzle.grid()]
    return {**original, "markdown_table": table(grid)}


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(lines)
    return lines[-1]


def child_pids(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- 1. generate -o keeps the user's file when generation fails ---------------------------------------------------

def test_1_generate_output_is_replaced_only_when_complete(tmp_path, capsys):
    target = tmp_path / "mine.txt"
    target.write_text("precious\n")
    assert crossmath_main(["generate", "--depth", "100", "-o", str(target)]) == 2
    assert "depth 100 is impossible" in error_line(capsys)
    assert target.read_text() == "precious\n" and sorted(tmp_path.iterdir()) == [target]
    assert crossmath_main(["generate", "--count", "2", "-o", str(target)]) == 0
    assert target.read_text().count("\n\n") == 1 and sorted(tmp_path.iterdir()) == [target]


# -- 2. style names become folder names: safe characters, unique ignoring case -------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "", "a/b", "..", "my style", "x" * 65])
def test_2_unsafe_style_names_are_refused(name):
    with pytest.raises(StyleError, match="is not allowed"):
        style_from_dict({"base": "original", "name": name})


def test_2_style_names_must_differ_ignoring_case(tmp_path, capsys):
    with pytest.raises(SettingsError, match="ignoring case"):
        BuildSettings(styles=(STYLES["original"], style_from_dict({"base": "beige", "name": "Original"})))
    style = tmp_path / "escape.json"
    style.write_text(json.dumps({"base": "original", "name": "../../x"}))
    assert build_main(["--out", str(tmp_path / "out"), "--styles", str(style), "--test-size", "1",
                       "--train-size", "0"]) == 2
    assert "is not allowed" in error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["escape.json"]


# -- 3. --overwrite removes only what the build wrote ----------------------------------------------------------------

def test_3_overwrite_refuses_to_delete_the_users_files(tmp_path):
    out = tmp_path / "ds"
    build(out, TINY, progress=False)
    (out / "notes.txt").write_text("mine")
    (out / "results").mkdir()
    (out / "results" / "run.csv").write_text("1,2")
    with pytest.raises(BuildError, match=r"holds files the build did not write \(notes.txt, results/run.csv\)"):
        build(out, TINY, progress=False, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / MANIFEST).is_file()
    (out / "notes.txt").unlink()
    (out / "results" / "run.csv").unlink()
    assert build(out, TINY, progress=False, overwrite=True).rows == 3


# -- 4. image paths of published records stay inside the records folder ------------------------------------------------

@pytest.mark.parametrize("img_blank", ["../../x.png", "/etc/hostname", "a/../../x.png"])
def test_4_image_paths_leaving_the_records_folder_are_refused(tmp_path, img_blank):
    from crossmath.eval.sources import SourceError, load_items

    path = tmp_path / "data" / "testset_hr.jsonl"
    path.parent.mkdir()
    write_records(path, [record(img_blank=img_blank)])
    with pytest.raises(SourceError, match="leads out of the folder"):
        load_items(str(path), "original", "test")


@pytest.mark.parametrize("changes, message", [
    ({"markdown_answer": None}, ":1: markdown_answer is null, not text"),
    ({"img_blank": 7}, ":1: img_blank is a number, not text"),
    ({"img": ["a"]}, ":1: img is a list, not a path"),
])
def test_4_records_the_evaluator_cannot_use_are_named_by_line(tmp_path, changes, message):
    from crossmath.eval.sources import SourceError, load_items

    path = tmp_path / "testset_hr.jsonl"
    write_records(path, [record(**changes)])
    with pytest.raises(SourceError, match=message):
        load_items(str(path), "original", "test")


# -- 5. unsound puzzles are defects, with their reason -----------------------------------------------------------------

@pytest.mark.parametrize("grid, reason", [
    ([["-3", "+", "5", "=", "?"]], "shown number -3 at row 0, column 0 is not a whole number from 1 up"),
    ([["0", "+", "5", "=", "?"]], "shown number 0"),
    ([["3", "+", "5", "=", "8"]], "no blanks"),
    ([["012", "+", "5", "=", "?"]], "'012' is neither a number nor '?'"),
    ([["\u0663", "+", "5", "=", "?"]], "neither a number"),  # Arabic-Indic three
    ([["\uff13", "+", "5", "=", "?"]], "neither a number"),  # full-width three
    ([["3", "+", "5", "=", "?", ""], [""] * 6], "the grid is not tight"),
    ([["", "", "", "", ""], ["3", "+", "5", "=", "?"]], "the grid is not tight"),
])
def test_5_invalid_puzzles_are_defects(grid, reason):
    findings = judge_record(record(markdown_table=table(grid)))
    assert any(reason in defect for defect in findings.defects), findings


def test_5_a_huge_table_holding_a_small_puzzle_is_not_cropped():
    grid = [[""] * 40 for _ in range(40)]
    grid[0][:5] = ["3", "+", "5", "=", "?"]
    assert "not tight" in judge_record(record(markdown_table=table(grid))).defects[0]


# -- 6. defects apart from warnings; --strict ------------------------------------------------------------------------

def test_6_metadata_disagreements_are_warnings_and_strict_counts_them(tmp_path, capsys):
    sound = record()
    findings = judge_record({**sound, "problems": "13", "range": [1, 2], "operators": "+"})
    assert findings.defects == []
    assert findings.warnings[0] == 'problems is "13" (text), not a whole number'
    assert any("outside the range [1, 2]" in w for w in findings.warnings)
    assert any("not in the operator set '+'" in w for w in findings.warnings)
    answer = sound["markdown_answer"].replace("|", "| 9", 1)
    assert judge_record({**sound, "markdown_answer": answer}).defects[0].startswith("stored answer")
    path = tmp_path / "warned.jsonl"
    write_records(path, [sound, {**sound, "problems": 99}])
    assert crossmath_main(["verify", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["line 2: warning: problems is 99 but the grid has "
                   f"{sound['problems']} equations", "checked 2 records: 2 sound, 0 defective; 1 with warnings"]
    assert crossmath_main(["verify", "--strict", str(path)]) == 1


# -- 7. one bad record is that record's defect; the rest of the file is judged ---------------------------------------

@pytest.mark.parametrize("changes, defect", [
    ({"markdown_table": 12}, "markdown_table is a number, not the text of a table"),
    ({"markdown_table": ["| 1 |"]}, "markdown_table is a list"),
    ({"markdown_table": None}, "markdown_table is null"),
    ({"solving_steps": {"step1": None}}, "solving_steps holds values that are not lists of equations"),
    ({"solving_steps": None}, "solving_steps is null"),
    ({"markdown_answer": None}, "markdown_answer is null, not text"),
    ({"markdown_table": table([["?"] * 197 for _ in range(197)])},
     f"the grid is 197x197 cells; crossmath handles grids up to {MAX_SIDE}x{MAX_SIDE}"),
    ({"markdown_table": table([["1" * 5000, "+", "5", "=", "?"]])}, "a number of 5000 digits"),
])
def test_7_hostile_values_are_the_records_defect(changes, defect):
    findings = judge_record(record(**changes))
    assert any(defect in found for found in findings.defects), findings


@pytest.mark.parametrize("value", [["a", "b"], [None, None], "1-250", [1, 2, 3], [True, 5]])
def test_7_a_range_that_is_not_two_numbers_is_a_warning(value):
    findings = judge_record(record(range=value))
    assert findings.defects == [] and findings.warnings[0].startswith("range is ")


def test_7_bad_lines_are_defects_by_line_number(tmp_path):
    good = json.dumps(record(), ensure_ascii=False).encode()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([good, b'{"x": "caf\xe9"}', b"[" * 100_000 + b"]" * 100_000, good, b"null"]) + b"\n")
    report = verify_file(path)
    assert report.checked == 5
    assert [(n, d[0][:28]) for n, d in report.defects] == [
        (2, "not UTF-8 text (byte 0xe9 at"), (3, "JSON nested too deeply to be"), (5, "a record is a JSON object, n")]
    assert report.defects[2][1] == ["a record is a JSON object, not null"]


def test_7_render_record_names_the_bad_record(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    write_records(path, [record(), record(markdown_table=None)])
    assert crossmath_main(["render", "--record", str(path), "--number", "2", "-o", str(tmp_path / "x.png")]) == 2
    assert error_line(capsys) == f"crossmath: error: {path}:2: markdown_table is null, not the text of a table"


# -- 8. bounded work per record, streaming, progress, Ctrl-C keeps what was found ----------------------------------

def test_8_a_search_that_runs_out_of_budget_says_uniqueness_undecided():
    findings = judge_record(all_blank(24))
    assert findings.defects[0].startswith("uniqueness undecided")


def test_8_defects_stream_as_found_and_ctrl_c_keeps_them(tmp_path):
    path = tmp_path / "slow.jsonl"
    slow = json.dumps(all_blank(24), ensure_ascii=False)
    path.write_text("{}\n" + "\n".join([slow] * 400) + "\n", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "crossmath.cli", "verify", str(path)], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_in_a_terminal)
    assert process.stdout is not None
    first = process.stdout.readline()  # streamed while the rest of the file is still being checked
    assert first == "line 1: defect: no markdown_table\n"
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in errors
    summary = rest.strip().splitlines()[-1]
    assert summary.startswith("checked ") and "(interrupted after line " in summary
    checked = int(summary.split()[1])
    assert 1 <= checked < 401 and f"0 sound, {checked} defective" in summary  # the slow ones are defects too


# -- 9. crossmath-build: concurrent builds, symlinks, shards, lost state, SIGTERM -----------------------------------

def test_9_a_second_build_into_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "ds"
    with build_lock(out.resolve()):
        with pytest.raises(LockedError, match="another build is writing to"):
            build(out, TINY, progress=False)
        assert build_main(["--out", str(out), "--test-size", "3", "--train-size", "0", "--styles", "original",
                           "--no-progress"]) == 2
        assert "another build is writing to" in error_line(capsys)
    assert not (tmp_path / "ds.partial").exists()
    assert build(out, TINY, progress=False).rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # the lock file is gone too


def test_9_a_symlinked_out_is_built_through(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    build(real, TINY, progress=False)
    link.symlink_to(real)
    build(link, TINY, progress=False, overwrite=True)
    assert link.is_symlink() and (link / MANIFEST).is_file()


def test_9_shards_and_partial_builds(tmp_path):
    out = tmp_path / "ds"
    out.write_text("a file")
    with pytest.raises(BuildError, match="is a file, not a folder"):
        build(out, TINY, progress=False, overwrite=True)
    out.unlink()
    with pytest.raises(BuildError, match=r"shard 5/10 is empty: this build has only 1 chunk\(s\)"):
        build(out, TINY, progress=False, shard=(5, 10))
    assert not any(tmp_path.iterdir())
    (tmp_path / "ds.partial").mkdir()  # a build whose state file was lost
    with pytest.raises(BuildError, match="--overwrite to start again"):
        build(out, TINY, progress=False)
    with pytest.raises(BuildError, match="lost its state file"):
        build(out, TINY, progress=False, resume=True)
    assert build(out, TINY, progress=False, overwrite=True).rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_9_merge_of_shards_of_different_cuts_says_so(tmp_path):
    two_chunks = BuildSettings(train_size=0, test_size=101, test_mix=(1, 0, 0), styles=(STYLES["original"],),
                               outputs=("hf",), version="test")
    build(tmp_path / "first", two_chunks, progress=False, shard=(1, 2))  # chunk 0
    build(tmp_path / "second", two_chunks, progress=False, shard=(2, 3))  # chunk 1, of another cut
    with pytest.raises(BuildError, match=r"different cuts \(K/2 and K/3\)"):
        merge(tmp_path / "merged", [tmp_path / "first", tmp_path / "second"])
    with pytest.raises(BuildError, match="given 2/3, missing chunks test-00000"):
        merge(tmp_path / "merged", [tmp_path / "second"])


def test_9_sigterm_terminates_the_worker_pool(tmp_path):
    out = tmp_path / "big"
    process = subprocess.Popen([sys.executable, "-m", "crossmath.dataset.cli", "--out", str(out), "--test-size",
                                "3000", "--train-size", "0", "--styles", "original", "--num-proc", "2",
                                "--no-progress"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(workers := child_pids(process.pid)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert len(workers) == 2, process.communicate()
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in errors
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)
    assert (tmp_path / "big.partial" / ".crossmath-partial.json").is_file()  # resumable: nothing done is lost


# -- 10. render: pixel limit before drawing, bool is not int, format by suffix --------------------------------------

def test_10_render_limits_and_formats(tmp_path, capsys):
    out = tmp_path / "p.png"
    assert crossmath_main(["render", "--scale", "1000", "-o", str(out)]) == 2
    assert "beyond the limit of 50,000,000 pixels" in error_line(capsys) and not out.exists()
    cases: list[tuple[dict[str, object], str]] = [
        ({"font_size": 10000}, "larger than the cell"),
        ({"cell_size": True}, "cell_size must be a whole number of 1 or more, not True"),
        ({"cell_size": 20000, "font_size": 24}, "beyond the limit")]
    for factors, message in cases:
        style = tmp_path / "s.json"
        style.write_text(json.dumps({"base": "original", **factors}))
        assert crossmath_main(["render", "--style", str(style), "-o", str(out)]) == 2
        assert message in error_line(capsys)
    assert not out.exists()
    assert crossmath_main(["render", "-o", str(tmp_path / "p.jpg")]) == 0
    assert (tmp_path / "p.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG, as the name says
    assert crossmath_main(["render", "--contact-sheet", "-o", str(tmp_path / "sheet.webp")]) == 0
    assert (tmp_path / "sheet.webp").read_bytes()[8:12] == b"WEBP"
    assert crossmath_main(["render", "-o", str(tmp_path / "p.xyz")]) == 2
    assert "give it a suffix such as .png" in error_line(capsys)
    with pytest.raises(RenderError):
        render(generate(seed=0), Style("big", cell_size=7000, font_size=24))


# -- 11. one clear line for every user error -------------------------------------------------------------------------

def test_11_verify_file_errors(tmp_path, capsys):
    assert crossmath_main(["verify", str(tmp_path)]) == 2
    assert error_line(capsys) == f"crossmath: error: {tmp_path} is a folder; give the .jsonl file of records inside it"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert crossmath_main(["verify", str(empty)]) == 1
    assert error_line(capsys) == f"crossmath: error: {empty} holds no records (it is empty or blank)"
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(record()).encode() + b"\n")
    assert crossmath_main(["verify", str(bom)]) == 0
    assert capsys.readouterr().out.strip() == "checked 1 records: 1 sound, 0 defective; 0 with warnings"


@pytest.mark.parametrize("argv, message", [
    (["render", "--number", "0"], "argument --number: expected a whole number of 1 or more, got '0'"),
    (["generate", "--count", "-5"], "argument --count: expected a whole number of 1 or more, got '-5'"),
    (["generate", "--start", "x"], "argument --start: expected a whole number of 0 or more, got 'x'"),
])
def test_11_bad_counts_are_refused_by_the_parser(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        crossmath_main(argv)
    assert stop.value.code == 2 and error_line(capsys).endswith(message)


@pytest.mark.parametrize("argv, message", [
    (["render", "--style", "mine.json"], "crossmath: error: no such style file: mine.json"),
    (["generate", "--depth", "100"], "crossmath: error: depth 100 is impossible: a puzzle of at most 15 equations"),
])
def test_11_crossmath_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert crossmath_main(argv) == 2
    assert error_line(capsys).startswith(message)


@pytest.mark.parametrize("argv, message", [
    (["--out", "."], "--out '.' is the current folder or one above it"),
    (["--out", ""], "--out is empty"),
    (["--out", ".."], "is the current folder or one above it"),
    (["--out", "x", "--push-to-hub", "bad id"], "--push-to-hub 'bad id' is not a Hub repo id"),
])
def test_11_build_errors_come_before_any_work(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert build_main([*argv, "--test-size", "1", "--train-size", "0", "--no-progress"]) == 2
    assert message in error_line(capsys)
    assert not any(tmp_path.iterdir())


def test_11_num_proc_zero_is_refused(capsys):
    with pytest.raises(SystemExit):
        build_main(["--out", "x", "--num-proc", "0"])
    assert error_line(capsys).endswith("argument --num-proc: expected a whole number of 1 or more, got '0'")


def test_11_eval_limit_must_be_positive(tmp_path, capsys):
    from crossmath.eval.cli import main as eval_main

    assert eval_main(["run", "--model", "m", "--dataset", str(tmp_path), "--limit", "-1"]) == 2
    assert error_line(capsys) == "crossmath-eval: error: --limit must be at least 1"


def test_11_a_failed_run_leaves_no_config_to_block_the_rerun(tmp_path):
    from crossmath.eval.rundir import RunError, RunFolder

    folder = tmp_path / "run"
    config = {"model": "m", "style": "original"}
    RunFolder(folder, config, resume=False)  # the model loaded, then the first batch failed: nothing was written
    assert not (folder / "config.json").exists()
    run = RunFolder(folder, config, resume=False)  # so the rerun starts
    run.append([{"id": "test-00000", "sample": 0}])
    assert json.loads((folder / "config.json").read_text()) == config
    with pytest.raises(RunError, match="--resume"):
        RunFolder(folder, config, resume=False)


def test_11_verify_into_a_closed_pipe_is_quiet(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("{}\n" * 5000)
    verify = subprocess.Popen([sys.executable, "-m", "crossmath.cli", "verify", str(path)], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert verify.stdout is not None and verify.stderr is not None
    assert verify.stdout.readline().startswith(b"line 1: defect:")
    verify.stdout.close()  # as `| head -1` does
    errors = verify.stderr.read().decode()
    assert verify.wait(timeout=60) == 141 and errors == ""


# -- 12. one exception hierarchy ---------------------------------------------------------------------------------------

def test_12_every_bad_input_error_is_a_crossmath_error_and_bugs_keep_their_traceback():
    from crossmath._cli import run_cli
    from crossmath.eval.rundir import RunError
    from crossmath.eval.sources import SourceError
    from crossmath.puzzles import GenerationError, PuzzleError
    from crossmath.puzzles.records import RecordError

    for error in (PuzzleError, RecordError, GenerationError, StyleError, RenderError, BuildError, LockedError,
                  SettingsError, SourceError, RunError):
        assert issubclass(error, CrossmathError)
    parser = argparse.ArgumentParser(prog="p")
    parser.set_defaults(run=lambda args: 1 // 0)
    with pytest.raises(ZeroDivisionError):
        run_cli(parser, [])


# -- probe of the features of issues 8, 9 and 10 -----------------------------------------------------------------------

def test_a_sweep_of_too_many_configs_is_refused_before_anything_runs(tmp_path, capsys):
    levels = ",".join(str(n) for n in range(10, 20))
    argv = ["--train-size", "0", "--test-size", "6", "--out", str(tmp_path / "ds"),
            "--vary", f"font_size={levels}", "--vary", "margin=1,2,3,4,5,6,7,8,9,10", "--vary", "blur=0,1,2,3,4,5,6"]
    assert build_main(argv) == 2
    assert "configs (4 styles x 700 per style) is more than 1000" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("option", [["--legibility-sample", "0"], ["--min-legibility", "101"]])
def test_bad_legibility_options_are_refused_before_the_build(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as exit_:
        build_main(["--train-size", "0", "--test-size", "6", "--out", str(tmp_path / "ds"), *option])
    assert exit_.value.code == 2 and not any(tmp_path.iterdir())
    with pytest.raises(SystemExit):
        crossmath_main(["legibility", str(tmp_path), "--min-legibility", "nan"])
    assert "expected a percentage from 0 to 100" in capsys.readouterr().err


def test_a_missing_tesseract_is_found_before_the_build(tmp_path, monkeypatch, capsys):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    assert build_main(["--train-size", "0", "--test-size", "6", "--out", str(tmp_path / "ds"),
                       "--check-legibility"]) == 2
    assert "apt-get install tesseract-ocr" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_openai_runs_refuse_a_base_url_without_scheme_and_a_named_key_that_is_unset(tmp_path, monkeypatch, capsys,
                                                                                    eval_dataset):
    from crossmath.eval.cli import main as eval_main

    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-printed")
    common = ["run", "--backend", "openai", "--model", "m", "--dataset", str(eval_dataset), "--limit", "1",
              "--output", str(tmp_path / "r")]
    assert eval_main([*common, "--base-url", "localhost:8000/v1"]) == 2
    assert eval_main([*common, "--base-url", "http://127.0.0.1:1/v1", "--api-key-env", "NO_SUCH_KEY"]) == 2
    everything = capsys.readouterr().err
    err = [line for line in everything.splitlines() if line.startswith("crossmath-eval: error: ")]  # and progress bars
    assert len(err) == 2 and "Traceback" not in everything
    assert "must start with http:// or https://" in err[0] and "NO_SUCH_KEY, which is not set" in err[1]
    assert "sk-never-printed" not in everything and not (tmp_path / "r").exists()


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_train_refuses_an_out_that_is_a_file_or_a_folder_of_other_things(tmp_path, capsys, kind):
    from crossmath.train.cli import main as train_main

    out = tmp_path / "out"
    if kind == "file":
        out.write_text("mine")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    assert train_main(["--model", str(tmp_path / "m"), "--dataset", str(tmp_path), "--out", str(out)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == (["out"] if kind == "file" else ["notes.txt", "out"])


def test_a_report_page_path_that_is_a_folder_is_refused_before_anything_is_written(tmp_path):
    from crossmath.report.report import ReportError, gap_report

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "m", "modality": "text", "style": "original"}))
    (run / "predictions.jsonl").write_text("")
    with pytest.raises(ReportError, match="is a folder; give the page's file name"):
        gap_report([run], out=tmp_path / "report", html=tmp_path)
    assert not (tmp_path / "report").exists()
