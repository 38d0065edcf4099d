"""Plan benchmark: the plan runner's own overhead over the same runs made one ``crossmath-eval run`` at a time.

Three models (tiny random Qwen2-VL and LLaVA on the CPU, and the answer server behind the OpenAI engine), two
styles and three modalities: 18 runs. One by one is a ``run`` per model (each writes its model's gap report) and
then a ``report`` over all runs; the plan is one ``run --plan`` (which ends in the same report). Both run in this
process, after a warm-up of each, alternating which goes first; each repeat writes to fresh folders. Prints the
median wall and CPU time of each and their ratios (goal: within 5%; CPU time is the steadier on a shared host),
twice: with the reports off in both (the runs alone:
the plan runner's own overhead), and as the commands ship (one by one writes a gap report per model, the plan one
report over all).

    python benchmarks/plan.py [--repeats 5] [--limit 10] [--max-new-tokens 8]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

from crossmath.eval import cli  # noqa: E402
from crossmath.eval.sources import load_items  # noqa: E402
from crossmath.testing.answer_server import AnswerServer  # noqa: E402

STYLES = ("original", "altstyle")


def quiet(call: Callable[[], int]) -> tuple[float, float]:
    """Wall and CPU seconds (this process, every thread: the answer server's too) a command takes, its output
    swallowed; a failure stops the benchmark."""
    wall, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = call()
    if status != 0:
        raise SystemExit(f"a command failed with status {status}")
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--limit", type=int, default=10, help="puzzles per run")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    args = parser.parse_args()

    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES as PRESETS
    from crossmath.testing.random_models import tiny_llava, tiny_qwen2_vl

    work = Path(tempfile.mkdtemp(prefix="crossmath-plan-bench-"))
    dataset = work / "data"
    build(dataset, BuildSettings(train_size=0, test_size=args.limit, styles=tuple(PRESETS[s] for s in STYLES),
                                 version="bench"), progress=False)
    local = {"qwen": str(tiny_qwen2_vl(work / "qwen")), "llava": str(tiny_llava(work / "llava"))}
    items = [item for style in STYLES for item in load_items(str(dataset), style, "test")]
    shared = ["--dataset", str(dataset), "--style", ",".join(STYLES), "--limit", str(args.limit),
              "--max-new-tokens", str(args.max_new_tokens), "--no-progress"]
    with AnswerServer(items) as server:
        models = [["--model", local["qwen"], "--name", "qwen"], ["--model", local["llava"], "--name", "llava"],
                  ["--backend", "openai", "--base-url", server.url, "--model", server.model, "--name", "api"]]
        plan = work / "study.toml"
        plan.write_text("\n".join([
            f'[[model]]\nname = "qwen"\nmodel = "{local["qwen"]}"',
            f'[[model]]\nname = "llava"\nmodel = "{local["llava"]}"',
            f'[[model]]\nname = "api"\nmodel = "{server.model}"\nbase_url = "{server.url}"']) + "\n")

        def one_by_one(out: Path) -> int:
            status = max(cli.main(["run", *model, *shared, "--output", str(out)]) for model in models)
            return status or cli.main(["report", str(out), "--out", str(out / "report")])  # off: prints only

        def whole_plan(out: Path) -> int:
            return cli.main(["run", "--plan", str(plan), *shared, "--output", str(out)])

        ways = {"one by one": one_by_one, "plan": whole_plan}
        for reports in (False, True):
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
            with reports_on(reports):
                for repeat in range(-1, args.repeats):  # repeat -1: the warm-up, not counted
                    for name in (list(ways) if repeat % 2 == 0 else list(ways)[::-1]):
                        out = work / f"{name.replace(' ', '-')}-{reports}-{repeat + 1}"
                        seconds = quiet(functools.partial(ways[name], out))
                        if repeat >= 0:
                            times[name].append(seconds)
            print(f"{len(models) * len(STYLES) * 3} runs of {args.limit} puzzles, "
                  f"{'with the reports' if reports else 'reports off'}, medians of {args.repeats}:")
            for k, kind in enumerate(("wall", "CPU")):
                one, whole = (statistics.median(t[k] for t in times[name]) for name in ways)
                print(f"  {kind}: one by one {one:.2f} s, plan {whole:.2f} s; plan / one by one = {whole / one:.3f} "
                      "(goal: at most 1.05)")
                print("    all repeats: " + "; ".join(f"{name} " + ", ".join(f"{t[k]:.2f}" for t in values)
                                                    for name, values in times.items()))


@contextlib.contextmanager
def reports_on(on: bool) -> Iterator[None]:
    """With ``on`` False, every gap report (the per-model one of ``run``, the plan's, ``report``'s) is skipped."""
    import crossmath.report.report as report

    real = report.gap_report
    if not on:
        report.gap_report = lambda *args, **kwargs: ""
    try:
        yield
    finally:
        report.gap_report = real


if __name__ == "__main__":
    main()
