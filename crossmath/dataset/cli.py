"""The ``crossmath-build`` command."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

from crossmath._cli import comma_list, non_negative_int, option_type, percent, positive_int, run_cli
from crossmath._version import __version__
from crossmath.dataset.experiment import load_experiment, parse_mix, parse_puzzle_value
from crossmath.dataset.factors import parse_vary
from crossmath.dataset.legibility import DEFAULT_SAMPLE, check_legibility, tesseract
from crossmath.dataset.pipeline import build, existing_build, merge
from crossmath.dataset.settings import OUTPUTS, PUBLISHED_TEST_MIX, BuildSettings
from crossmath.errors import SettingsError
from crossmath.puzzles.generator import DEFAULT_PROFILE, PROFILES
from crossmath.puzzles.text import FORMATS
from crossmath.render.styles import resolve_style


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}") from None
    return k, n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossmath-build",
        description="Build train/test splits of verified cross-math puzzles as a Hugging Face dataset (one config "
                    "per image style), optionally in the published file layout, and optionally push it to the Hub.")
    parser.add_argument("--version", action="version", version=f"crossmath {__version__}")
    parser.add_argument("--out", required=True, help="folder to write the dataset to")
    parser.add_argument("--train-size", type=non_negative_int, default=5000, help="train puzzles (default 5000)")
    parser.add_argument("--test-size", type=non_negative_int, default=250, help="test puzzles (default 250)")
    mix = ",".join(map(str, PUBLISHED_TEST_MIX))
    parser.add_argument("--test-mix", type=option_type(parse_mix), default=PUBLISHED_TEST_MIX, metavar="E,M,H",
                        help=f"easy,medium,hard weights of the test split (default {mix}, the published mix)")
    parser.add_argument("--train-mix", type=option_type(parse_mix), default=PUBLISHED_TEST_MIX, metavar="E,M,H",
                        help=f"easy,medium,hard weights of the train split (default {mix})")
    parser.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                        help="generation profile of the test split, and of the train split unless --train-profile "
                             "says otherwise (default published: grids, steps, operators and numbers like the "
                             "published test set; compact: denser, smaller grids)")
    parser.add_argument("--train-profile", choices=list(PROFILES), help="generation profile of the train split")
    parser.add_argument("--seed", type=int, default=0, help="build seed (default 0)")
    parser.add_argument("--styles", type=comma_list, default=[style.name for style in BuildSettings.styles],
                        metavar="S1,S2", help="presets or .json/.toml style files, one config each (default: the "
                                              "four presets)")
    parser.add_argument("--text-formats", type=comma_list, default=list(FORMATS), metavar="F1,F2",
                        help=f"grid serializations to include as columns, of {', '.join(FORMATS)} (default all)")
    parser.add_argument("--solved-images", action="store_true", help="also store the completed grid's image")
    parser.add_argument("--experiment", metavar="EXP.toml", help="take the whole setup from this file (options "
                        "given here override it); the file is kept in the output and the card")
    parser.add_argument("--format", type=comma_list, default=["hf"], metavar="F1,F2", dest="outputs",
                        help=f"what to write, of {', '.join(OUTPUTS)} (default hf; crossmath-jsonl writes the "
                             "published layout under published/)")
    parser.add_argument("--num-proc", type=positive_int, default=os.cpu_count() or 1,
                        help="worker processes (default: all cores)")
    parser.add_argument("--shard", type=_shard, default=(1, 1), metavar="K/N",
                        help="build only the K-th of N slices (join them with --merge)")
    parser.add_argument("--merge", nargs="+", metavar="SHARD_DIR", help="join finished shard folders into --out")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted build of the same settings")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing build in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    puzzle = parser.add_argument_group(
        "puzzle settings", "generator settings for every puzzle, or with a DIFFICULTY: prefix (e.g. hard:3-7) for "
        "one difficulty; repeatable; not given: the difficulty preset's")
    helps = {"equations": "number of equations, N or MIN-MAX", "max_rows": "largest grid height in cells",
             "max_cols": "largest grid width in cells", "operators": "operator set in ASCII, e.g. +-",
             "range": "number range MIN-MAX", "blanks": "number of blanks (not for hard)",
             "depth": "deepest step level, N or MIN-MAX"}
    for key, text in helps.items():
        puzzle.add_argument(f"--{key.replace('_', '-')}", dest="puzzle_settings", action="append",
                            type=option_type(functools.partial(parse_puzzle_value, key)), metavar="[D:]VALUE",
                            help=text)
    sweep = parser.add_argument_group("controlled variants")
    sweep.add_argument("--vary", action="append", type=option_type(parse_vary), metavar="FACTOR=L1,L2",
                       help="one config per level of FACTOR on each --styles base (repeat for several factors: every "
                            "combination). Image factors: any style field (font_size, font, background, ...) or "
                            "jpeg_quality, gaussian_noise, blur, rotate, downscale, contrast (same puzzles); "
                            "depth, blanks (same solved grids, new blank sets); operators, range, equations, "
                            "max_rows, max_cols (new puzzles per level, not paired)")
    sweep.add_argument("--one-at-a-time", action="store_true",
                       help="vary each factor alone from the base instead of every combination")
    sweep.add_argument("--conflict", action="store_true",
                       help="add a test-only config <style>-conflict per style: the image shows the puzzle, the "
                            "conflict_* text columns a twin with a few shown numbers changed and another answer "
                            "(a hybrid run on it measures which modality the model follows)")
    sweep.add_argument("--check-legibility", action="store_true",
                       help="after building, read a sample of every config's number cells back with Tesseract and "
                            "record the share read correctly")
    sweep.add_argument("--min-legibility", type=percent, metavar="P",
                       help="exit with status 1 when a config's legibility is below P percent (implies "
                            "--check-legibility; the built folder stays, with the figures recorded)")
    sweep.add_argument("--legibility-sample", type=positive_int, default=DEFAULT_SAMPLE, metavar="N",
                       help=f"images read per config (default {DEFAULT_SAMPLE})")
    hub = parser.add_argument_group("publishing")
    hub.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the finished dataset to this Hub repo")
    hub.add_argument("--private", action="store_true", help="create the Hub repo as private")
    hub.add_argument("--token", help="Hub token (default: the logged-in one); never printed")
    parser.set_defaults(run=_run, experiment_text="")
    return parser


def settings_from_args(args: argparse.Namespace) -> BuildSettings:
    puzzle: dict[str, Any] = {}
    by_difficulty: dict[str, dict[str, Any]] = {}
    for difficulty, key, value in args.puzzle_settings or []:
        (by_difficulty.setdefault(difficulty, {}) if difficulty else puzzle)[key] = value
    vary: dict[str, list[Any]] = {}
    for name, levels in args.vary or []:
        if name in vary:
            raise SettingsError(f"--vary {name} is given twice; list all its levels once")
        vary[name] = levels
    return BuildSettings(
        puzzle=puzzle, puzzle_by_difficulty=by_difficulty, vary=vary, one_at_a_time=args.one_at_a_time,
        experiment=args.experiment_text, conflict=args.conflict,
        train_size=args.train_size, test_size=args.test_size, train_mix=args.train_mix, test_mix=args.test_mix,
        test_profile=args.profile, train_profile=args.train_profile or args.profile, seed=args.seed,
        styles=tuple(resolve_style(name) for name in args.styles),
        text_formats=tuple(args.text_formats), solved_images=args.solved_images, outputs=tuple(args.outputs),
    )


def _with_experiment(args: argparse.Namespace) -> argparse.Namespace:
    """The options again with an ``--experiment`` file's values as defaults, which the command line overrides."""
    defaults, text = load_experiment(args.experiment)
    args.parser.set_defaults(**defaults, experiment_text=text)
    return args.parser.parse_args(args.argv)


def _run(args: argparse.Namespace) -> int:
    if args.experiment:
        args = _with_experiment(args)
    if args.push_to_hub:  # a bad repo id is found before the build, not after it
        from crossmath.dataset.hub import check_repo_id

        check_repo_id(args.push_to_hub)
    settings = settings_from_args(args)
    legibility = args.check_legibility or args.min_legibility is not None
    if legibility:
        tesseract()  # before the build, not after it
    ready = existing_build(args.out, settings) if args.push_to_hub and not args.overwrite else None
    if ready is not None:
        print(f"{args.out} already holds this build; not rebuilding it")
        report = ready
    elif args.merge:
        report = merge(args.out, args.merge, overwrite=args.overwrite)
    else:
        try:
            report = build(args.out, settings, num_proc=args.num_proc, shard=args.shard,
                           resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM
            print(f"crossmath-build: interrupted; the work done is kept in {args.out}.partial: run the same command "
                  "with --resume to continue", file=sys.stderr)
            return 130
    print("\n".join(report.lines()))
    if legibility:
        failed = check_legibility(report.path, args.legibility_sample, args.min_legibility, not args.no_progress)
        if failed:
            return 1
    if args.push_to_hub:
        from crossmath.dataset.hub import push_to_hub

        print(f"pushed to {push_to_hub(report.path, args.push_to_hub, private=args.private, token=args.token)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser.set_defaults(parser=parser, argv=argv)  # for re-reading the options over an --experiment file
    return run_cli(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
