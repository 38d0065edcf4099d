"""README.md's examples run: its Python blocks as doctests, its shell blocks as commands, in order, in one folder.

The blocks run as a reader would type them, top to bottom, in one temporary working folder: a ```python block is a
doctest (its shown values are checked) in a namespace shared by all of them, a ```bash block's commands run (a
plain call of one of crossmath's commands through its ``main(argv)`` in this process, so torch and datasets load
once; anything else through bash with the console scripts of this interpreter), and a ```toml block whose first
line is ``# NAME.toml: ...`` is written to NAME.toml (rewritten as commands are). What cannot run offline, without
a GPU, or fast is rewritten or skipped by the two tables below, each entry with its reason; the test fails when an
entry no longer matches the README, so they can't rot.
"""

from __future__ import annotations

import contextlib
import doctest
import glob
import importlib
import io
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"

pytestmark = pytest.mark.torch

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


FREE_PORT = _free_port()

SUBSTITUTIONS: list[tuple[str, str, str]] = [
    # (pattern, replacement, why)
    (r'^pip install [^&]*(&& |$)', "", "the test environment is what the README's test command installed"),
    (r"Qwen/Qwen2-VL-2B-Instruct", "Qwen__Qwen2-VL-2B-Instruct",
     "a tiny random Qwen2-VL saved in the working folder stands in for the Hub model (no downloads); its folder "
     "name keeps the run folders' names (crossmath-runs/Qwen__Qwen2-VL-2B-Instruct/...)"),
    (r"^(crossmath-build (?!.*--train-size 0)(?!.*--experiment).*)$", r"\1 --train-size 4 --test-size 3",
     "builds with both splits: 4 train and 3 test puzzles instead of thousands"),
    (r"^(crossmath-build .*(--train-size 0|--experiment).*)$", r"\1 --test-size 3",
     "test-only builds and experiment files (which set their own train size): 3 test puzzles"),
    (r"^(crossmath-eval run --plan study\.toml)$", r"\1 --only qwen2-vl-2b,qwen2-vl-2b-lora",
     "the plan's vLLM server and hosted API are not here: its two local models run (tests/test_plan.py runs a plan "
     "with a local answer server)"),
    (r"^(crossmath-eval run .*)$", r"\1 --limit 2 --max-new-tokens 4", "model runs: 2 puzzles, 4 new tokens"),
    (r"^(crossmath-train (?!.*--stream).*)$", r"\1 --limit 2", "training: 2 puzzles (one step)"),
    (r"^(crossmath-train .*--stream.*)$", r"\1 --max-steps 1 --batch-size 2 --num-generations 2 "
     r"--max-completion-length 4", "streamed training: one step of 2 completions of 4 tokens"),
    (r"\b8011\b", str(FREE_PORT), "the answer server's example port may be taken here: a free one instead"),
]

SKIPPED: dict[str, str] = {
    # a part of exactly one command -> why it does not run here
    'pip install -e ".[test]" && python -m pytest': "runs this test suite",
    "python -m venv --system-site-packages /tmp/crossmath-verifiers-classic": "CI's second test step: the "
        "verifiers adapter's tests in a venv with verifiers' classic API",
    "python -m venv --system-site-packages /tmp/crossmath-verifiers-v1": "CI's third test step: the verifiers "
        "adapter's tests in a venv with verifiers 0.4's v1 API",
    "crossmath-build --out crossmath-data --push-to-hub": "needs the network and a Hub login",
    "crossmath-eval score --dataset data/Original/testset_hr.jsonl run_1.log":
        "needs the published code's own log files (tests/test_eval.py scores such logs)",
    "crossmath-eval run --backend openai --base-url https://api.example.com/v1": "needs a hosted API and its key",
    "vllm serve Qwen/Qwen2.5-VL-7B-Instruct --data-parallel-size": "needs vLLM and GPUs",
    "localhost:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct": "needs the vLLM server above "
        "(tests/test_eval_api.py runs the engine against a local server)",
    "vllm serve Qwen/Qwen2.5-VL-7B-Instruct --enable-lora": "needs vLLM and a GPU",
    "localhost:8000/v1 --model my-lora": "needs the vLLM server above",
    "python -m sglang.launch_server": "needs SGLang and a GPU",
    "localhost:8000/v1 --model Qwen/Qwen3-8B": "needs a vLLM server with a text model (tests/test_gap.py pairs "
        "one model's transcriptions with another model's solving)",
    "crossmath-eval run --backend openai --base-url http://localhost:30000/v1": "needs the SGLang server above",
    'lmms-eval --include_path "$(python -c \'import crossmath.tasks as t; print(t.TASKS_DIR)\')" --tasks list':
        "lmms-eval's start-up alone takes about 30 s (it imports every task it ships); tests/test_lmms_tasks.py "
        "loads our tasks with lmms-eval's own TaskManager",
    "--model qwen2_vl --model_args pretrained=Qwen/Qwen2-VL-2B-Instruct":
        "needs a real model for lmms-eval's qwen2_vl wrapper",
    "--model openai --model_args model_version=crossmath-answers": "lmms-eval's start-up alone takes about 30 s; "
        "tests/test_lmms_tasks.py runs this command in process against the answer server",
    "accelerate launch --config_file examples/accelerate_multi_gpu.yaml": "needs 4 GPUs",
    "accelerate launch --config_file examples/deepspeed_zero3.yaml": "needs GPUs and DeepSpeed",
    "--out adapters/two-cpu-processes": "two processes take about 30 s; tests/test_train_stream.py runs this launch "
        "(SFT on a build and GRPO on the stream)",
    "--stream --method grpo --target transcribe": "the streamed GRPO example above runs here; "
        "tests/test_train_stream.py trains reading by GRPO on the stream (the read reward, its curriculum)",
    "trl vllm-serve": "needs vLLM and a GPU",
    "--use-vllm --vllm-mode server": "needs the vLLM server above (tests/test_train_stream.py checks the options "
        "reach TRL's GRPOConfig, and the one-line refusal without vLLM)",
    "crossmath-build --out crossmath-data --train-size 0": "the lmms-eval section rebuilds the folder the Quick "
        "start built; here it already exists",
    "--target self-distill --teacher-run teacher-runs/": "the tiny random model that stands in for Qwen2-VL answers "
        "every puzzle wrongly, so its teacher run has nothing to distil (refused in one line); "
        "tests/test_train_causes.py distils from a planted teacher run",
}

BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    """Every fenced block of README.md as (language, text), in order."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def commands(script: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments and empty lines dropped."""
    joined = re.sub(r"\\\n\s*", "", script)
    lines = (re.sub(r"(^|\s+)# .*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def substitute(command: str, used: set[int] | None = None) -> str:
    """The command as it runs here; ``used`` collects the numbers of the substitutions that applied."""
    for number, (pattern, replacement, _why) in enumerate(SUBSTITUTIONS):
        command, count = re.subn(pattern, replacement, command)
        if count and used is not None:
            used.add(number)
    return command


def all_commands() -> list[str]:
    """Every command of every shell block, before substitution."""
    return [c for language, text in blocks() if language == "bash" for c in commands(text)]


def entry_points() -> list[tuple[str, str, str]]:
    """This checkout's [project.scripts] as (command, module, function)."""
    section = (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("[project.scripts]\n")[1].split("\n[")[0]
    return re.findall(r'^([\w-]+) = "([\w.]+):(\w+)"$', section, re.M)


def in_process(command: str) -> tuple[Callable[[Sequence[str]], int], list[str]] | None:
    """The ``main`` and arguments of a command that is a plain call of one of crossmath's commands (no pipes,
    redirections, substitutions or ``&&``), else None."""
    if re.search(r"[|&;<>$`()]", command):
        return None
    argv = shlex.split(command)
    for name, module, function in entry_points():
        if argv[0] == name:  # wildcards expand as bash expands them (sorted; kept as typed when nothing matches)
            arguments = [path for word in argv[1:] for path in (sorted(glob.glob(word)) or [word])]
            return getattr(importlib.import_module(module), function), arguments
    return None


def run_here(main: Callable[[Sequence[str]], int], arguments: list[str]) -> tuple[int, str]:
    """Exit status and output of a command's ``main`` run in this process."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            status = main(arguments)
        except SystemExit as exc:  # argparse's own exits
            status = exc.code if isinstance(exc.code, int) else 1
    return status, output.getvalue()


def console_scripts(folder: Path) -> Path:
    """This checkout's [project.scripts] as small launchers for this interpreter (installed ones may be older)."""
    folder.mkdir()
    for name, module, function in entry_points():
        code = f"import sys; sys.argv[0] = {name!r}; from {module} import {function}; sys.exit({function}())"
        launcher = folder / name
        launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{code}" "$@"\n', encoding="utf-8")
        launcher.chmod(0o755)
    return folder


def test_tables_name_only_what_the_readme_holds():
    every = all_commands()
    for start in SKIPPED:
        assert sum(start in c for c in every) == 1, f"SKIPPED entry is not in exactly one command: {start}"
    used: set[int] = set()
    for command in every:
        if not any(start in command for start in SKIPPED):
            substitute(command, used)
    assert used == set(range(len(SUBSTITUTIONS))), "a substitution matches no README command"


def test_python_blocks_are_doctests():
    for language, text in blocks():
        if language == "python":
            assert text.startswith(">>> "), f"a python block in README.md is not a doctest:\n{text}"


@pytest.mark.skipif(not shutil.which("tesseract"), reason="the README's legibility commands need tesseract")
def test_readme_runs(tmp_path, monkeypatch):
    from crossmath.testing.random_models import tiny_qwen2_vl

    tiny_qwen2_vl(tmp_path / "Qwen__Qwen2-VL-2B-Instruct")
    bin_dir = console_scripts(tmp_path / ".bin")
    monkeypatch.chdir(tmp_path)
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "TQDM_DISABLE"):
        monkeypatch.setenv(variable, "1")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}"
           f"{os.pathsep}{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    globs: dict = {}
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with contextlib.ExitStack() as background:  # servers started with `&` run until the last block has run
        _run_blocks(globs, parser, runner, env, background)


def _in_background(command: str, env: dict[str, str], stack: contextlib.ExitStack) -> None:
    """A command ending in ``&`` (a server): started, awaited until it prints its first line (its URL), and stopped
    when ``stack`` closes."""
    server = subprocess.Popen(["bash", "-c", f"exec {command}"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    stack.callback(server.wait, timeout=30)
    stack.callback(server.terminate)
    assert server.stdout is not None
    assert server.stdout.readline().startswith("http"), f"{command}: no URL printed"


def _run_blocks(globs: dict, parser: doctest.DocTestParser, runner: doctest.DocTestRunner, env: dict[str, str],
                background: contextlib.ExitStack) -> None:
    for number, (language, text) in enumerate(blocks()):
        if language == "python":
            test = parser.get_doctest(text, globs, f"README.md block {number}", str(README), 0)
            output: list[str] = []
            result = runner.run(test, out=output.append, clear_globs=False)
            assert not result.failed, "".join(output)
            globs = test.globs  # the next block sees what this one defined
        elif language == "toml" and (name := re.match(r"# (\S+\.toml):", text)):
            Path(name.group(1)).write_text(substitute(text), encoding="utf-8")
        elif language == "bash":
            for command in commands(text):
                if any(start in command for start in SKIPPED):
                    continue
                command = substitute(command)
                if not command:
                    continue
                if command.endswith("&"):
                    _in_background(command[:-1].strip(), env, background)
                    continue
                began = time.perf_counter()
                call = in_process(command)
                if call is not None:
                    status, printed = run_here(*call)
                else:
                    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
                    status, printed = done.returncode, done.stdout + done.stderr
                print(f"{time.perf_counter() - began:5.1f} s  {command}")  # shown with -s: where the time goes
                assert status == 0, f"{command}\n{printed[-6000:]}"
