"""Report benchmark: ``crossmath-eval report --html`` on three runs (text, image, hybrid) of 250 puzzles.

Builds a 250-puzzle test split, writes three run folders from a seeded simulated model (each blank right with a
probability set by modality and step level, with a shared per-blank latent so that modalities agree more than
chance), then times the whole command in a fresh process (figures and HTML page included), median of ``--repeats``.
Prints the time against the 10 s bar, the page weight against the 5 MB bar, and whether the figures were
byte-identical in every repeat.

``--readme-figures DIR`` also writes the README's figures from the same runs, plus a font-size sweep of the image
modality (four levels) for the accuracy-by-factor plot.

    python benchmarks/report.py [--repeats 3] [--readme-figures docs/images]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crossmath.eval.metrics import step_category  # noqa: E402
from crossmath.eval.sources import load_items  # noqa: E402

TIME_BAR_S = 10.0
PAGE_BAR_BYTES = 5 * 1024 * 1024
MODEL = "simulated/vlm-7b"
RIGHT = {  # chance of a right blank by step level
    "text": {"step1": 0.93, "step2": 0.80, "step3": 0.68, "step4+": 0.55},
    "image": {"step1": 0.78, "step2": 0.58, "step3": 0.45, "step4+": 0.33},
    "hybrid": {"step1": 0.90, "step2": 0.75, "step3": 0.62, "step4+": 0.50},
}
FONT_SIZES = {12: 0.72, 18: 0.88, 24: 1.0, 32: 1.02}
"""The sweep's image accuracy relative to the base font size."""


def build_dataset(out: Path) -> Path:
    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES

    build(out, BuildSettings(train_size=0, test_size=250, styles=(STYLES["original"],), version="bench"),
          progress=False)
    return out


def write_run(folder: Path, dataset: Path, modality: str, chance: dict[str, float], seed: int,
              factors: dict | None = None) -> Path:
    """A run folder of the simulated model: blank j of a puzzle is right when a latent shared by every modality
    (70%) or its own draw (30%) falls under the chance for its step level."""
    shared = np.random.default_rng(0)
    own = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"model": MODEL, "style": "original", "modality": modality, "dataset": str(dataset),
                              "split": "test"}
    if factors:
        config["factors"] = factors
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    lines = []
    for item in load_items(str(dataset), "original", "test"):
        latent = shared.random(len(item.answer))
        draws = np.where(own.random(len(item.answer)) < 0.7, latent, own.random(len(item.answer)))
        right = [bool(u < chance[step_category(s)]) for u, s in zip(draws, item.steps)]
        answer = " ".join(v if ok else str(int(v) + 1) for v, ok in zip(item.answer, right))
        lines.append(json.dumps({"id": item.id, "sample": 0, "output": f"<answer>{answer}</answer>",
                                 "answer": answer, "correct": right}))
    (folder / "predictions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def report_command(runs: list[Path], out: Path, *extra: str) -> tuple[float, float]:
    """Run the report command in a fresh process; its wall time and its CPU time (user + system), in seconds. On a
    shared host the wall time carries other people's load; the CPU time is what an idle machine would wait."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crossmath.eval.cli", "report", *map(str, runs), "--out", str(out),
                    "--html", str(out / "report.html"), *extra], check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def figure_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.png")) + sorted(folder.glob("*.svg")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def readme_figures(work: Path, dataset: Path, runs: list[Path], target: Path) -> None:
    sweep = [write_run(work / "runs" / f"font-{size}-{modality}", dataset, modality,
                       {s: min(0.99, p * (scale if modality == "image" else 1.0)) for s, p in RIGHT[modality].items()},
                       seed=10 + size + k, factors={"font_size": size})
             for size, scale in FONT_SIZES.items() for k, modality in enumerate(("text", "image"))]
    report_command(runs, work / "readme")
    report_command(sweep, work / "readme-sweep", "--by", "font_size")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("modalities", "steps", "consistency"):
        shutil.copyfile(work / "readme" / f"{name}.png", target / f"report-{name}.png")
    shutil.copyfile(work / "readme-sweep" / "factor-font_size.png", target / "report-factor-font_size.png")
    print(f"README figures written to {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--readme-figures", type=Path, metavar="DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossmath-report-bench-") as tmp:
        work = Path(tmp)
        dataset = build_dataset(work / "data")
        runs = [write_run(work / "runs" / f"original-{m}", dataset, m, RIGHT[m], seed=k + 1)
                for k, m in enumerate(RIGHT)]
        walls, cpus, digests = [], [], set()
        for repeat in range(args.repeats):
            out = work / f"report-{repeat}"
            wall, cpu = report_command(runs, out)
            walls.append(wall)
            cpus.append(cpu)
            digests.add(figure_digest(out))
        page = (work / "report-0" / "report.html").stat().st_size
        print(f"report of 3 runs x 250 puzzles (figures + HTML, 50-puzzle gallery), fresh process, median of "
              f"{args.repeats}:")
        for name, values in (("wall", walls), ("CPU", cpus)):
            median = statistics.median(values)
            print(f"  {name} {median:.2f} s ({', '.join(f'{t:.2f}' for t in values)}); {median / TIME_BAR_S:.2f}x "
                  f"the {TIME_BAR_S:.0f} s bar")
        print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"HTML page: {page / 1e6:.2f} MB; {page / PAGE_BAR_BYTES:.2f}x the 5 MB bar")
        print(f"figures byte-identical across repeats: {len(digests) == 1}")
        if args.readme_figures:
            readme_figures(work, dataset, runs, args.readme_figures)


if __name__ == "__main__":
    main()
