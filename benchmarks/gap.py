"""Why the gap, from build to decomposition figure, with two simulated models of planted perception and reasoning.

Builds a 250-puzzle test split and serves two simulated models with crossmath's answer server (no real model): one
that misreads shown numbers often and reasons over the image as well as over text (``misread=0.06``), one that
reads well but slips on image prompts (``misread=0.01, slip=0.12``). Each is run through ``crossmath-eval run
--backend openai --modality text,image,two-stage`` (its own transcription first), then one ``crossmath-eval
report`` splits each gap into perception and integration. Prints the planted against the measured losses and the
time each step took.

    python benchmarks/gap.py [--readme-figure docs/images]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crossmath.eval import cli  # noqa: E402
from crossmath.eval.sources import load_items  # noqa: E402
from crossmath.eval.transcripts import blank_equation_cells, true_grid  # noqa: E402
from crossmath.testing.answer_server import AnswerServer  # noqa: E402

MODELS = {"simulated/misreads": (0.06, 0.0), "simulated/reasons-less-on-images": (0.01, 0.12)}
"""Each simulated model's planted chance of misreading a shown number and of slipping on a blank of an image
prompt."""


def planted(server: AnswerServer, items: list) -> tuple[float, float]:
    """The perception and integration losses (micro, points) the server's plant makes."""
    reading, image = [], []
    for item in items:
        misread = {(r, c) for r, c, _, _ in server.misreads(item.id)}
        touched = [bool(cells & misread) for cells in blank_equation_cells(true_grid(item.texts["markdown"]))]
        reading.append(sum(not t for t in touched) / len(touched))
        image.append(sum(not (t or s) for t, s in zip(touched, server.slips(item.id))) / len(touched))
    return 100 - 100 * sum(reading) / len(items), 100 * (sum(reading) - sum(image)) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme-figure", type=Path, metavar="DIR", help="copy the figure to DIR as "
                        "report-decomposition.png")
    args = parser.parse_args()
    from crossmath.dataset import BuildSettings, build
    from crossmath.render import STYLES

    with tempfile.TemporaryDirectory(prefix="crossmath-gap-bench-") as tmp:
        work = Path(tmp)
        began = time.perf_counter()
        build(work / "data", BuildSettings(train_size=0, test_size=250, styles=(STYLES["original"],),
                                           version="bench"), progress=False)
        items = load_items(str(work / "data"), "original", "test")
        print(f"build: {time.perf_counter() - began:.1f} s")
        runs, plants = [], {}
        for model, (misread, slip) in MODELS.items():
            began = time.perf_counter()
            with AnswerServer(items, model=model, seed=1, misread=misread, slip=slip) as server:
                status = cli.main(["run", "--backend", "openai", "--base-url", server.url, "--model", model,
                                   "--dataset", str(work / "data"), "--modality", "text,image,two-stage",
                                   "--concurrency", "16", "--output", str(work / "runs"), "--no-progress"])
                assert status == 0
                plants[model] = planted(server, items)
            folder = work / "runs" / model.replace("/", "__")
            runs += [str(folder / f"original-{m}") for m in ("text", "image", "transcribe", "two-stage")]
            print(f"{model}: 4 runs x 250 puzzles through the OpenAI engine: {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        assert cli.main(["report", *runs, "--out", str(work / "report")]) == 0
        print(f"report: {time.perf_counter() - began:.1f} s")
        summary = json.loads((work / "report" / "summary.json").read_text())
        for model, (perception, integration) in plants.items():
            split = summary["decomposition"][model]["original"]
            print(f"{model}: perception loss planted {perception:.2f}, measured "
                  f"{split['perception_loss']['micro']['mean']:.2f}; integration loss planted {integration:.2f}, "
                  f"measured {split['integration_loss']['micro']['mean']:.2f}; explained by misreading "
                  f"{split['explained_by_misreading']['share']:.1f}%")
        if args.readme_figure:
            args.readme_figure.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / "report" / "decomposition.png", args.readme_figure / "report-decomposition.png")
            print(f"README figure written to {args.readme_figure / 'report-decomposition.png'}")


if __name__ == "__main__":
    main()
