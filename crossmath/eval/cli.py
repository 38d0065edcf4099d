"""The ``crossmath-eval`` command: ``run`` a model, ``score`` predictions, ``report`` the modality gap."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crossmath._cli import comma_list, run_cli
from crossmath._version import __version__
from crossmath.errors import CrossmathError
from crossmath.eval.prompts import DEFAULT_TEMPLATES, FORMAT_NAMES, MODALITIES, check_template, load_template

if TYPE_CHECKING:
    from crossmath.eval.backends.base import Backend


def _modalities(text: str) -> list[str]:
    names = comma_list(text)
    unknown = [name for name in names if name not in MODALITIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"modalities are {', '.join(MODALITIES)}; got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crossmath-eval", description="Evaluate vision-language models on "
                                     "cross-math puzzles as text, image or both, and report the modality gap.")
    parser.add_argument("--version", action="version", version=f"crossmath {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a model on a dataset", description="Run any Hugging Face "
                              "image-text-to-text model (optionally with a LoRA adapter), or any model behind an "
                              "OpenAI-compatible server, on a dataset, in one or more modalities and styles, "
                              "writing one run folder each; then print the gap table.")
    run.add_argument("--model", required=True, help="Hub id or local folder of the model (with --backend openai: "
                     "the name the server serves it under)")
    run.add_argument("--adapter", help="folder of a peft LoRA adapter to load on top")
    run.add_argument("--merge-adapter", action="store_true", help="merge the adapter into the weights")
    run.add_argument("--dataset", required=True, help="a crossmath-build folder, a Hub dataset id, or a published "
                     "JSONL file (image paths relative to it)")
    run.add_argument("--style", type=comma_list, default=["original"], metavar="S1,S2",
                     help="config(s) to evaluate (default original), or all; for a JSONL file it only names the run")
    run.add_argument("--split", default="test", help="split (default test)")
    run.add_argument("--modality", type=_modalities, default=list(MODALITIES), metavar="M1,M2",
                     help="text, image, hybrid, or a comma list (default all three)")
    run.add_argument("--text-format", choices=sorted(FORMAT_NAMES), default="markdown",
                     help="serialization in text and hybrid prompts (default markdown)")
    run.add_argument("--prompt-file", help="your own prompt template ({rules} {puzzle} {format} {answer_format})")
    run.add_argument("--limit", type=int, help="evaluate only the first N puzzles")
    run.add_argument("--batch-size", type=int, help="prompts per batch (default 8; with --backend openai, puzzles "
                     "per written chunk, default 4 x --concurrency)")
    run.add_argument("--num-samples", type=int, default=1, help="replies per puzzle (default 1)")
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
    report.add_argument("runs", nargs="+", help="run folders")
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
    report.set_defaults(run=_report)
    return parser


def _check_run_options(args: argparse.Namespace) -> None:
    """Every option of ``run`` checked before torch or a dataset loads, so a mistake fails at once."""
    from crossmath.eval.backends.openai_backend import parse_extra_body
    from crossmath.eval.backends.transformers_backend import check_adapter_path, check_model_path

    rules = [("--batch-size", args.batch_size is None or args.batch_size >= 1, "at least 1"),
             ("--num-samples", args.num_samples >= 1, "at least 1"),
             ("--max-new-tokens", args.max_new_tokens >= 1, "at least 1"),
             ("--limit", args.limit is None or args.limit >= 1, "at least 1"),
             ("--concurrency", args.concurrency >= 1, "at least 1"),
             ("--max-retries", args.max_retries >= 0, "at least 0"),
             ("--timeout", args.timeout > 0, "above 0"), ("--temperature", args.temperature >= 0, "at least 0"),
             ("--top-p", 0 < args.top_p <= 1, "in (0, 1]")]
    broken = next(((name, bound) for name, ok, bound in rules if not ok), None)
    if broken:
        raise CrossmathError(f"{broken[0]} must be {broken[1]}")
    args.extra_body = parse_extra_body(args.extra_body)
    if args.backend == "openai":
        if args.adapter:
            raise CrossmathError("--adapter loads weights here; with --backend openai, serve the adapter (vLLM: "
                                 "--enable-lora --lora-modules NAME=PATH) and pass --model NAME")
        if not (args.base_url or os.environ.get("OPENAI_BASE_URL")):
            raise CrossmathError("--backend openai needs --base-url (or OPENAI_BASE_URL)")
        if args.api_key_env and not os.environ.get(args.api_key_env):
            raise CrossmathError(f"--api-key-env names {args.api_key_env}, which is not set in the environment")
    else:
        check_model_path(args.model)
        if args.adapter:
            check_adapter_path(args.adapter)
    if args.batch_size is None:
        args.batch_size = 4 * args.concurrency if args.backend == "openai" else 8


def _backend(args: argparse.Namespace) -> Backend:
    if args.backend == "openai":
        from crossmath.eval.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(args.model, base_url=args.base_url, api_key_env=args.api_key_env or "OPENAI_API_KEY",
                             concurrency=args.concurrency, timeout=args.timeout, max_retries=args.max_retries,
                             extra_body=args.extra_body)
    from crossmath.eval.backends.transformers_backend import TransformersBackend

    return TransformersBackend(args.model, adapter=args.adapter, merge_adapter=args.merge_adapter, dtype=args.dtype,
                               device_map=args.device_map, attn_implementation=args.attn_implementation,
                               trust_remote_code=args.trust_remote_code)


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _check_run_options(args)
    from crossmath.eval.backends.base import Sampling
    from crossmath.eval.run_report import write_results
    from crossmath.eval.rundir import RunFolder
    from crossmath.eval.runner import predict
    from crossmath.eval.sources import describe_source, load_items, slug, source_fingerprint, source_revision
    from crossmath.report.report import gap_report

    template_text = load_template(args.prompt_file) if args.prompt_file else None
    for modality in args.modality:
        check_template(template_text or DEFAULT_TEMPLATES[modality], modality)
    styles = _all_configs(args.dataset) if args.style == ["all"] else args.style
    items_by_style = {style: load_items(args.dataset, style, args.split, args.limit) for style in styles}
    for style, items in items_by_style.items():
        if not items:
            raise CrossmathError(f"{args.dataset} has no puzzles in config {style!r}, split {args.split!r}")
        if args.modality != ["image"] and args.text_format not in items[0].texts:
            raise CrossmathError(f"{args.dataset} carries no {args.text_format} text (it has "
                                 f"{', '.join(items[0].texts)}); choose another --text-format")
    backend = _backend(args)
    sampling = Sampling(args.num_samples, args.temperature, args.top_p, args.max_new_tokens, args.thinking)
    model_folder = slug(args.model) + (f"+{slug(args.adapter)}" if args.adapter else "")
    described = backend.describe()
    shared = {"dataset": describe_source(args.dataset), "dataset_revision": source_revision(args.dataset),
              "crossmath": __version__, "engine": args.backend, "backend": described,
              "model_revision": described.get("model_revision") or described.get("server_model")}
    fingerprints = {style: source_fingerprint(args.dataset, style, args.split) for style in items_by_style}
    run_paths, incomplete = [], 0
    for style, items in items_by_style.items():
        for modality in args.modality:
            template = template_text or DEFAULT_TEMPLATES[modality]
            config = {
                "model": args.model, "adapter": args.adapter, "merge_adapter": args.merge_adapter,
                "dataset": shared["dataset"], "dataset_fingerprint": fingerprints[style],
                "dataset_revision": shared["dataset_revision"], "style": style, "factors": items[0].factors,
                "split": args.split,
                "modality": modality, "text_format": args.text_format, "prompt_template": template,
                "num_samples": args.num_samples, "temperature": args.temperature, "top_p": args.top_p,
                "max_new_tokens": args.max_new_tokens, "seed": args.seed, "thinking": args.thinking,
                "dtype": args.dtype, "limit": args.limit, "batch_size": args.batch_size,
                "device_map": args.device_map, "attn_implementation": args.attn_implementation,
                "engine": shared["engine"], "extra_body": args.extra_body or None,
                "model_revision": shared["model_revision"],
                "crossmath": shared["crossmath"], "backend": shared["backend"],
            }
            path = Path(args.output) / model_folder / f"{slug(style)}-{modality}"
            run = RunFolder(path, config, resume=args.resume)
            predict(backend, items, run, modality=modality, text_format=args.text_format, template=template,
                    sampling=sampling, batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress)
            metrics = write_results(run, items, args.num_samples)
            print(f"{path}: {_summary(metrics)}")
            incomplete += not metrics["complete"]
            run_paths.append(path)
    if len(run_paths) > 1:
        print(gap_report(run_paths, out=Path(args.output) / model_folder / "report"))
    if incomplete:
        print(f"crossmath-eval: {incomplete} run(s) incomplete: some requests failed after their retries; "
              "rerun the same command with --resume to send only those", file=sys.stderr)
        return 1
    return 0


def _summary(metrics: dict) -> str:
    figures = ", ".join(f"{name} " + ("n/a" if metrics[name]["mean"] is None else f"{metrics[name]['mean']:.2f}%")
                        for name in ("micro", "macro"))
    failed = f", INCOMPLETE: {metrics['failed_puzzles']} failed" if not metrics["complete"] else ""
    return f"{figures} ({metrics['puzzles']} puzzles x {metrics['samples']} samples{failed})"


def _all_configs(dataset: str) -> list[str]:
    """Every config of a built dataset (a folder or a Hub id), for ``--style all``."""
    import datasets

    if Path(dataset).is_file():
        raise CrossmathError("--style all needs a dataset with configs, not a JSONL file")
    return datasets.get_dataset_config_names(dataset)


def _score(args: argparse.Namespace) -> int:
    from crossmath.eval.scoring import score_files

    metrics = score_files(args.dataset, args.style, args.split, args.predictions)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"puzzles {metrics['puzzles']}, samples {metrics['samples']}, "
              f"missing answers {metrics['missing_answers']}, failed puzzles {metrics['failed_puzzles']}, "
              f"puzzles without a prediction {metrics['unpredicted_puzzles']}")
        for name, value in [("micro", metrics["micro"]), ("macro", metrics["macro"]), *metrics["steps"].items()]:
            print(f"{name}: " + ("n/a" if value["mean"] is None else f"{value['mean']:.4f} ± {value['std']:.4f}"))
    return 0


def _report(args: argparse.Namespace) -> int:
    from crossmath.report.report import gap_report

    print(gap_report(args.runs, out=args.out, metric=args.metric, by=args.by, html=args.html, gallery=args.gallery))
    print(f"wrote {Path(args.out) / 'report.md'}, summary.json and figures" + (f", and {args.html}" if args.html
                                                                               else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
