"""The ``crossmath-eval`` command: ``run`` a model, ``score`` predictions, ``report`` the modality gap."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from crossmath._cli import check_ranges, comma_list, run_cli
from crossmath._version import __version__
from crossmath.errors import CrossmathError
from crossmath.eval.prompts import FORMAT_NAMES, MODALITIES, RUN_MODALITIES, TRANSCRIBE, TWO_STAGE
from crossmath.report import RANK_BY

MAX_SAMPLES = 1000
"""The most replies per puzzle: scoring and reports hold every reply of a run in memory."""


def _modalities(text: str) -> list[str]:
    names = comma_list(text)
    unknown = [name for name in names if name not in RUN_MODALITIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"modalities are {', '.join(RUN_MODALITIES)}; got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crossmath-eval", description="Evaluate vision-language models on "
                                     "cross-math puzzles as text, image or both, and report the modality gap.")
    parser.add_argument("--version", action="version", version=f"crossmath {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a model on a dataset", description="Run any Hugging Face "
                              "image-text-to-text model (optionally with a LoRA adapter), or any model behind an "
                              "OpenAI-compatible server, on a dataset, in one or more modalities and styles, "
                              "writing one run folder each; then print the gap table. With --plan, every model of a "
                              "study file, then its leaderboard.")
    run.add_argument("--plan", metavar="FILE.toml", help="run a whole study: every model, style and modality of a "
                     "plan file (see the README); options given here override the file")
    run.add_argument("--dry-run", action="store_true", help="with --plan: list the runs and which are done, "
                     "loading nothing")
    run.add_argument("--only", type=comma_list, metavar="NAME1,NAME2", help="with --plan: run only these of its "
                     "models (by name); the report still covers every run done")
    run.add_argument("--model", help="Hub id or local folder of the model (with --backend openai: "
                     "the name the server serves it under)")
    run.add_argument("--name", help="the model's label in folders and reports (default: the model's and adapter's "
                     "names)")
    run.add_argument("--adapter", help="folder of a peft LoRA adapter to load on top")
    run.add_argument("--merge-adapter", action="store_true", help="merge the adapter into the weights")
    run.add_argument("--dataset", help="a crossmath-build folder, a Hub dataset id, or a published "
                     "JSONL file (image paths relative to it)")
    run.add_argument("--style", type=comma_list, default=["original"], metavar="S1,S2",
                     help="config(s) to evaluate (default original), or all; for a JSONL file it only names the run")
    run.add_argument("--split", default="test", help="split (default test)")
    run.add_argument("--modality", type=_modalities, default=list(MODALITIES), metavar="M1,M2",
                     help="text, image, hybrid, transcribe (the image alone, the grid transcribed: the "
                          "perception probe), two-stage (solve the text of a transcription), or a comma list "
                          "(default text,image,hybrid)")
    run.add_argument("--transcripts", metavar="RUN_DIR", help="with --modality two-stage: solve from the replies "
                     "of this transcribe run (any model's) instead of transcribing first")
    run.add_argument("--text-format", choices=sorted(FORMAT_NAMES), default="markdown",
                     help="serialization in text and hybrid prompts (default markdown)")
    run.add_argument("--prompt-file", help="your own prompt template ({rules} {puzzle} {format} {answer_format})")
    run.add_argument("--limit", type=int, help="evaluate only the first N puzzles")
    run.add_argument("--batch-size", type=int, help="prompts per batch (default 8; with --backend openai, puzzles "
                     "per written chunk, default 4 x --concurrency)")
    run.add_argument("--num-samples", type=int, default=1,
                     help=f"replies per puzzle (default 1, at most {MAX_SAMPLES})")
    run.add_argument("--temperature", type=float, default=0.0, help="0 (default) is greedy decoding")
    run.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (default 1.0)")
    run.add_argument("--max-new-tokens", type=int, default=1024, help="reply length limit (default 1024)")
    run.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    run.add_argument("--thinking", action="store_true", help="ask chat templates that support it to think")
    run.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"],
                     help="weights' type (default auto)")
    run.add_argument("--device-map", default="auto", help="transformers device map, or none (default auto)")
    run.add_argument("--attn-implementation", help="e.g. sdpa, flash_attention_2, eager")
    run.add_argument("--trust-remote-code", action="store_true", help="allow the model's own code (off by default)")
    api = run.add_argument_group("OpenAI-compatible servers (--backend openai: vLLM, SGLang, hosted APIs)")
    api.add_argument("--backend", choices=["transformers", "openai"], default="transformers",
                     help="run the model here with transformers (default), or send requests to a server")
    api.add_argument("--base-url", help="the server's API root, e.g. http://localhost:8000/v1 "
                     "(default: $OPENAI_BASE_URL)")
    api.add_argument("--api-key-env", metavar="NAME",
                     help="environment variable holding the API key, which must then be set (default "
                          "OPENAI_API_KEY, if set; local servers take none; never stored)")
    api.add_argument("--concurrency", type=int, default=8, help="requests in flight, at most (default 8)")
    api.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default 600)")
    api.add_argument("--max-retries", type=int, default=5,
                     help="retries of a request on 429, 5xx, timeouts, dropped connections (default 5)")
    api.add_argument("--extra-body", metavar="JSON", help="JSON object added to every request body")
    run.add_argument("--output", default="crossmath-runs", help="folder for run folders (default crossmath-runs)")
    run.add_argument("--resume", action="store_true", help="continue interrupted runs with the same settings")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.set_defaults(run=_run)

    score = commands.add_parser("score", help="score prediction files without a model",
                                description="Score predictions.jsonl files of runs, or prediction logs in the "
                                            "published format (one line per puzzle, one file per sample).")
    score.add_argument("--dataset", required=True, help="the dataset the predictions answer")
    score.add_argument("--style", default="original", help="config (default original)")
    score.add_argument("--split", default="test", help="split (default test)")
    score.add_argument("--json", action="store_true", help="print the metrics as JSON")
    score.add_argument("predictions", nargs="+", help="predictions.jsonl, or published-format log files")
    score.set_defaults(run=_score)

    report = commands.add_parser("report", help="modality gap, step levels, consistency and style tables over runs",
                                 description="Tables and figures of the modality gap (paired tests, 95% "
                                             "intervals), accuracy by step level, cross-modal consistency (2x2 "
                                             "tables, kappa, McNemar), robustness across styles and, with --by, "
                                             "accuracy by a factor's level; with --html, a page with an error "
                                             "gallery.")
    report.add_argument("runs", nargs="+", help="run folders, or folders holding them (a plan's output)")
    report.add_argument("--metric", choices=["micro", "macro"], default="micro",
                        help="accuracy in the gap table and figures (default micro)")
    report.add_argument("--out", default="crossmath-report",
                        help="folder for report.md, summary.json and the figures (default crossmath-report)")
    report.add_argument("--by", metavar="FACTOR", help="also tabulate and plot accuracy by the level of FACTOR "
                        "(from the runs' config.json 'factors')")
    report.add_argument("--html", metavar="OUT", help="also write one self-contained HTML page with the error "
                        "gallery to OUT")
    report.add_argument("--gallery", type=int, default=50, metavar="N",
                        help="puzzles in the HTML error gallery, most informative first (default 50)")
    report.add_argument("--rank-by", choices=RANK_BY, default="consistent",
                        help="the leaderboard's order: an accuracy, consistent accuracy or kappa (highest first), or "
                             "a gap (nearest zero first); default consistent")
    report.add_argument("--latex", nargs="?", const="pm", choices=["pm", "brackets"],
                        help="also write every table as LaTeX (booktabs) to OUT/tables/NAME.tex, intervals as "
                             "mean ± half-width (pm, the default) or mean [low, high] (brackets)")
    report.add_argument("--csv", action="store_true", help="also write every table as OUT/tables/NAME.csv")
    report.set_defaults(run=_report)
    return parser


def _check_run_options(args: argparse.Namespace, *, paths: bool = True) -> None:
    """Every option of ``run`` checked before torch or a dataset loads, so a mistake fails at once; ``paths=False``
    leaves the model and adapter folders to be checked when the model loads (a plan's other models still run)."""
    from crossmath.eval.backends.openai_backend import parse_extra_body
    from crossmath.eval.backends.transformers_backend import check_adapter_path, check_model_path

    rules = [("--batch-size", args.batch_size is None or args.batch_size >= 1, "at least 1"),
             ("--num-samples", 1 <= args.num_samples <= MAX_SAMPLES, f"from 1 to {MAX_SAMPLES}"),
             ("--max-new-tokens", args.max_new_tokens >= 1, "at least 1"),
             ("--limit", args.limit is None or args.limit >= 1, "at least 1"),
             ("--concurrency", args.concurrency >= 1, "at least 1"),
             ("--max-retries", args.max_retries >= 0, "at least 0"),
             ("--timeout", args.timeout > 0, "above 0"), ("--temperature", args.temperature >= 0, "at least 0"),
             ("--top-p", 0 < args.top_p <= 1, "in (0, 1]")]
    check_ranges(rules)
    if args.transcripts and TWO_STAGE not in args.modality:
        raise CrossmathError("--transcripts is for --modality two-stage")
    if TWO_STAGE in args.modality and not args.transcripts and TRANSCRIBE not in args.modality:
        # its own reading first: the transcribe run, then two-stage solving from it
        args.modality.insert(args.modality.index(TWO_STAGE), TRANSCRIBE)
    if TRANSCRIBE in args.modality and TWO_STAGE in args.modality:
        args.modality.remove(TRANSCRIBE)
        args.modality.insert(args.modality.index(TWO_STAGE), TRANSCRIBE)
    args.extra_body = parse_extra_body(args.extra_body)
    if args.backend == "openai":
        if args.adapter:
            raise CrossmathError("--adapter loads weights here; with --backend openai, serve the adapter (vLLM: "
                                 "--enable-lora --lora-modules NAME=PATH) and pass --model NAME")
        if not (args.base_url or os.environ.get("OPENAI_BASE_URL")):
            raise CrossmathError("--backend openai needs --base-url (or OPENAI_BASE_URL)")
        if args.api_key_env and not os.environ.get(args.api_key_env):
            raise CrossmathError(f"--api-key-env names {args.api_key_env}, which is not set in the environment")
    elif paths:
        check_model_path(args.model)
        if args.adapter:
            check_adapter_path(args.adapter)
    if args.batch_size is None:
        args.batch_size = 4 * args.concurrency if args.backend == "openai" else 8


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.plan:
        from crossmath.eval.plan_runner import run_plan

        return run_plan(args, build_parser(), _check_run_options)
    if args.dry_run or args.only:
        raise CrossmathError(f"{'--dry-run' if args.dry_run else '--only'} works on a plan; give --plan FILE")
    missing = [option for option, value in (("--model", args.model), ("--dataset", args.dataset)) if not value]
    if missing:
        raise CrossmathError(f"run needs {' and '.join(missing)} (or --plan FILE)")
    _check_run_options(args)
    from crossmath.eval.cells import (
        answered_runs,
        fingerprints,
        given_transcripts,
        held,
        load_model_items,
        make_backend,
        model_cells,
        model_folder,
        open_runs,
        reported,
        run_cells,
    )
    from crossmath.report.report import gap_report

    cells = model_cells(args)
    items_by_style = load_model_items(args, list(dict.fromkeys(cell.style for cell in cells)))
    transcripts = given_transcripts(args, items_by_style)
    with held(cells):  # a second run into the same folders stops at once; every folder checked before the model
        runs = open_runs(args, cells, items_by_style, fingerprints(args, cells), transcripts, resume=args.resume)
        ran = run_cells(args, make_backend(args), runs, items_by_style, transcripts)
    if len(refused := ran.refused) == len(args.modality):
        raise CrossmathError(f"{args.model} takes none of the modalities asked ({', '.join(args.modality)})")
    if sum(modality in MODALITIES for _, modality in ran.paths) > 1 and (paths := answered_runs(
            reported(ran.paths, args.modality))):
        print(gap_report(paths, out=Path(args.output) / model_folder(args) / "report"))
    incomplete = ran.incomplete
    if incomplete:
        print(f"crossmath-eval: {incomplete} run(s) incomplete: some requests failed after their retries; "
              "rerun the same command with --resume to send only those", file=sys.stderr)
        return 1
    return 1 if refused else 0


def _score(args: argparse.Namespace) -> int:
    from crossmath.eval.read_metrics import FIGURES
    from crossmath.eval.scoring import score_files

    metrics = score_files(args.dataset, args.style, args.split, args.predictions)
    if args.json:
        print(json.dumps(metrics, indent=2, ensure_ascii=False))
    elif "read" in metrics:
        print(f"puzzles {metrics['puzzles']}, samples {metrics['samples']}, replies without a table "
              f"{metrics['unparsed']}, puzzles without a prediction {metrics['unpredicted_puzzles']}")
        for name in FIGURES:
            value = metrics["read"][name]
            print(f"read {name}: " + ("n/a" if value is None else
                                      f"{value['mean']:.4f} [{value['low']:.4f}, {value['high']:.4f}]"))
    else:
        print(f"puzzles {metrics['puzzles']}, samples {metrics['samples']}, "
              f"missing answers {metrics['missing_answers']}, failed puzzles {metrics['failed_puzzles']}, "
              f"puzzles without a prediction {metrics['unpredicted_puzzles']}")
        for name, value in [("micro", metrics["micro"]), ("macro", metrics["macro"]), *metrics["steps"].items()]:
            print(f"{name}: " + ("n/a" if value["mean"] is None else f"{value['mean']:.4f} ± {value['std']:.4f}"))
    return 0


def _report(args: argparse.Namespace) -> int:
    from crossmath.report.report import gap_report

    print(gap_report(args.runs, out=args.out, metric=args.metric, by=args.by, html=args.html, gallery=args.gallery,
                     rank_by=args.rank_by, latex=args.latex, csv=args.csv))
    tables = " and ".join(kind for kind, wanted in (("LaTeX", args.latex), ("CSV", args.csv)) if wanted)
    print(f"wrote {Path(args.out) / 'report.md'}, summary.json and figures"
          + (f", {tables} tables in {Path(args.out) / 'tables'}" if tables else "")
          + (f", and {args.html}" if args.html else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    parser.set_defaults(argv=argv)  # what --plan tells apart: options typed, which override the plan
    return run_cli(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
