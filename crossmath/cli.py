"""The ``crossmath`` command: generate puzzles, verify record files, render images, profile sets of puzzles.

Bad input ends in one ``crossmath: error: ...`` line and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from tqdm import tqdm

from crossmath._cli import (
    comma_list,
    non_negative_int,
    option_type,
    percent,
    positive_int,
    run_cli,
    sigterm_interrupts,
)
from crossmath._version import __version__
from crossmath.puzzles import profile
from crossmath.puzzles.generator import DEFAULT_PROFILE, PRESETS, PROFILES, generate
from crossmath.puzzles.model import Puzzle, PuzzleError
from crossmath.puzzles.published_names import published_names
from crossmath.puzzles.records import iter_records, json_kind, puzzle_from_record, record_line, to_record
from crossmath.puzzles.text import FORMATS, from_markdown
from crossmath.puzzles.verify import FileReport, iter_findings

if TYPE_CHECKING:
    from PIL import Image


def span(text: str) -> tuple[int, int]:
    """Parse ``N`` or ``MIN-MAX`` into a (min, max) pair."""
    try:
        parts = [int(part) for part in text.split("-", 1)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or MIN-MAX, got {text!r}") from None
    return (parts[0], parts[-1])


def _parse_vary(text: str) -> tuple[str, list]:
    from crossmath.dataset.factors import parse_vary  # the dataset package loads only for --vary

    return parse_vary(text)


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose which puzzles are generated (shared by every command that generates)."""
    group = parser.add_argument_group("puzzle settings")
    group.add_argument("--difficulty", choices=sorted(PRESETS), default="medium", help="difficulty preset")
    group.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                       help="published (default: like the published test set) or compact (denser, smaller grids)")
    group.add_argument("--seed", type=int, default=0, help="seed of the series (default 0)")
    group.add_argument("--equations", type=span, metavar="N|MIN-MAX", help="number of equations (preset: 5-15)")
    group.add_argument("--max-rows", type=int, default=17, help="largest grid height in cells (default 17)")
    group.add_argument("--max-cols", type=int, default=21, help="largest grid width in cells (default 21)")
    group.add_argument("--operators", default="+-*/", help="operator set in ASCII (default +-*/)")
    group.add_argument("--range", type=span, metavar="MIN-MAX", dest="number_range",
                       help="number range (default: 1 to a maximum drawn in 50-250 per puzzle)")
    group.add_argument("--blanks", type=int, help="number of blanks (not for hard: one per equation)")
    group.add_argument("--depth", type=span, metavar="N|MIN-MAX", help="deepest step level (preset dependent)")


def generation_kwargs(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`generate` chosen by :func:`add_generation_options`."""
    return dict(difficulty=args.difficulty, profile=args.profile, seed=args.seed, equations=args.equations,
                max_rows=args.max_rows, max_cols=args.max_cols, operators=args.operators,
                number_range=args.number_range, blanks=args.blanks, depth=args.depth)


def _write_puzzles(args: argparse.Namespace, out: IO[str]) -> None:
    kwargs = generation_kwargs(args)
    indices = range(args.start, args.start + args.count)
    puzzles = (generate(index=i, **kwargs) for i in indices)
    progress = tqdm(puzzles, total=args.count, desc="generating", unit="puzzle", disable=None, file=sys.stderr)
    for number, (index, puzzle) in enumerate(zip(indices, progress)):
        if args.text_format == "jsonl":
            img, img_blank = published_names("original").image_names(index + 1)
            out.write(record_line(to_record(puzzle, img=img, img_blank=img_blank)))
            continue
        if number:
            out.write("\n")
        out.write(FORMATS[args.text_format][0](puzzle).rstrip("\n") + "\n")


def _generate(args: argparse.Namespace) -> int:
    if not args.output:
        _write_puzzles(args, sys.stdout)
        return 0
    output = Path(args.output)
    if output.exists() and not output.is_file():  # a device or a pipe (/dev/stdout, /dev/null): write to it
        with open(output, "w", encoding="utf-8") as handle:
            _write_puzzles(args, handle)
        return 0
    target = output.resolve()  # a symlink stays, and the file it names gets the puzzles
    # Write beside the target and rename when done, so a failed or interrupted run leaves an existing file as it was.
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    with sigterm_interrupts():
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                _write_puzzles(args, handle)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    return 0


def _records_file(name: str) -> Path:
    """A records file named on the command line; a folder, a device or a pipe (``/dev/zero``, whose one endless
    line would be read into memory) is refused."""
    path = Path(name)
    if path.is_dir():
        raise PuzzleError(f"{path} is a folder; give the .jsonl file of records inside it")
    if path.exists() and not path.is_file():
        raise PuzzleError(f"{path} is not a regular file (a device or a pipe); give a .jsonl file of records")
    if not path.is_file():
        raise PuzzleError(f"no such file: {path}")
    return path


def _verify(args: argparse.Namespace) -> int:
    path = _records_file(args.file)
    report = FileReport()
    with open(path, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    seen = 0
    with tqdm(total=lines, unit="line", desc="verifying", disable=None, file=sys.stderr) as bar:
        try:
            for number, findings in iter_findings(path):
                for line in report.add(number, findings):
                    bar.write(line, file=sys.stdout)
                sys.stdout.flush()
                bar.update(number - seen)
                seen = number
        except KeyboardInterrupt:
            bar.close()
            print(f"{report.summary()} (interrupted after line {seen})", flush=True)
            return 130
    if not report.checked:
        print(f"crossmath: error: {path} holds no records (it is empty or blank)", file=sys.stderr)
        return 1
    print(report.summary())
    return 0 if report.ok(strict=args.strict) else 1


def _puzzle_for_render(args: argparse.Namespace) -> Puzzle:
    if args.record is None:
        return generate(index=args.index, **generation_kwargs(args))
    for number, (line, record) in enumerate(iter_records(_records_file(args.record)), start=1):
        if number == args.number:
            try:
                return puzzle_from_record(record)
            except PuzzleError as exc:
                raise PuzzleError(f"{args.record}:{line}: {exc}") from None
    raise PuzzleError(f"{args.record} has fewer than {args.number} records")


def _render(args: argparse.Namespace) -> int:
    from crossmath import render  # Pillow and fonts load only for this command

    puzzle = _puzzle_for_render(args)
    styles = args.style or (list(render.STYLES) if args.contact_sheet and not args.vary else ["original"])
    output = Path(args.output)
    if args.vary:
        if not args.contact_sheet:
            raise PuzzleError("--vary draws several images: use it with --contact-sheet")
        if args.scale != 1:
            raise PuzzleError("--scale does not apply to --vary sheets (their perturbations are in pixels of the "
                              "style's own size)")
        render.write_image(_variant_sheet(puzzle, styles, args), output)
    elif args.contact_sheet:
        render.write_image(render.contact_sheet(puzzle, styles, solved=args.solved, scale=args.scale), output)
    else:
        if len(styles) > 1:
            raise PuzzleError("give one --style, or --contact-sheet to show several")
        render.save(puzzle, output, styles[0], solved=args.solved, scale=args.scale)
    print(f"wrote {output} ({puzzle.rows}x{puzzle.cols} cells, answer {puzzle.answer})")
    return 0


def _figures_of(source: str, config: str | None, split: str) -> profile.Figures:
    """The figures of ``published`` (shipped with crossmath), a published-format JSONL file, a crossmath-build
    folder or a Hub dataset id (read the way ``crossmath-eval`` reads them)."""
    if source == "published":
        return profile.PUBLISHED
    from crossmath.eval.sources import load_items  # datasets loads only for this command

    samples = []
    for item in load_items(source, config, split):  # type: ignore[arg-type]  # None: the dataset's default config
        if "markdown" not in item.texts:
            raise PuzzleError(f"{source}: puzzle {item.id} has no markdown table")
        try:
            steps = [int(label.removeprefix("step")) for label in item.steps]
        except ValueError:
            raise PuzzleError(f"{source}: puzzle {item.id} has step labels other than stepN: {item.steps}") from None
        try:
            puzzle = from_markdown(item.texts["markdown"], solve=False)
        except PuzzleError as exc:
            raise PuzzleError(f"{source}: puzzle {item.id}: {exc}") from None
        if len(steps) != len(puzzle.blanks):
            raise PuzzleError(f"{source}: puzzle {item.id} has {len(puzzle.blanks)} blanks but {len(steps)} steps")
        if item.difficulty is not None and not isinstance(item.difficulty, str):
            raise PuzzleError(f"{source}: puzzle {item.id}: difficulty is {json_kind(item.difficulty)}, not text "
                              "such as \"medium\"")
        samples.append(profile.sample(puzzle, steps, item.difficulty))
    if not samples:
        raise PuzzleError(f"{source} holds no puzzles")
    return profile.figures(samples)


def _profile(args: argparse.Namespace) -> int:
    ours = _figures_of(args.source, args.config, args.split)
    other = None if args.against is None else _figures_of(args.against, args.config, args.split)
    if args.json:
        data: dict = {"source": args.source, "figures": ours}
        if other is not None:
            gaps = profile.distances(ours, other)
            data.update(against=args.against, other=other, distances=gaps, misses=profile.misses(gaps))
        print(json.dumps(data, indent=1, ensure_ascii=False))
        return 0
    names = (Path(args.source).name or args.source, "" if args.against is None else Path(args.against).name)
    print("\n".join(profile.table(ours, other, names)))
    if other is not None:
        missed = profile.misses(profile.distances(ours, other))
        print(f"\noutside the published profile's goals: {'; '.join(missed) if missed else 'none'}")
    return 0


def _legibility(args: argparse.Namespace) -> int:
    from crossmath.dataset.legibility import check_legibility

    return 1 if check_legibility(args.dataset, args.sample, args.min_legibility, progress=True) else 0


def _variant_sheet(puzzle: Puzzle, styles: list[str], args: argparse.Namespace) -> Image.Image:
    """The puzzle in every config of the ``--vary`` factors, side by side (image and depth/blanks factors)."""
    from crossmath.dataset.factors import draw, kind, plan_configs
    from crossmath.puzzles.generator import reblank
    from crossmath.render import resolve_style, side_by_side
    from crossmath.render.draw import check_sheet

    vary = dict(args.vary)
    grid = [name for name in vary if kind(name) == "grid"]
    if grid:
        raise PuzzleError(f"a contact sheet shows one puzzle; {', '.join(grid)} would draw other puzzles")
    configs = plan_configs(tuple(resolve_style(s) for s in styles), vary, one_at_a_time=False)
    check_sheet(puzzle, [config.style for config in configs])
    images = []
    for config in configs:
        shown = reblank(puzzle, seed=args.seed, index=args.index, **config.blanking) if config.blanking else puzzle
        if shown is None:
            raise PuzzleError(f"this puzzle cannot reach {config.blanking}; try another --index")
        images.append(draw(shown, config, seed=args.seed, key=f"index-{args.index}", solved=args.solved))
    return side_by_side(images)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crossmath", description="Verified cross-math puzzles.")
    parser.add_argument("--version", action="version", version=f"crossmath {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="print generated puzzles",
                              description="Generate verified puzzles and print them (or write them to a file).")
    add_generation_options(gen)
    gen.add_argument("--count", type=positive_int, default=1, help="how many puzzles (default 1)")
    gen.add_argument("--start", type=non_negative_int, default=0,
                     help="index of the first puzzle in the series (default 0)")
    gen.add_argument("--text-format", choices=["jsonl", *FORMATS], default="markdown",
                     help="markdown (the published table), jsonl (published records), json, csv or cells (the "
                          "names of crossmath-build --text-formats and crossmath-eval --text-format)")
    gen.add_argument("-o", "--output", help="write to this file instead of standard output")
    gen.set_defaults(run=_generate)

    ver = commands.add_parser("verify", help="check every record of a JSONL file",
                              description="Check every record of a file in the published format; print one line "
                                          "per record with defects (the puzzle is unsound, or its stored answer, "
                                          "step levels, solutions or solving steps disagree with the grid) and one "
                                          "per record with warnings (stored metadata such as problems, range or "
                                          "operators disagrees), as found, then a summary. Exit status 1 if any "
                                          "record is defective (with --strict, also for warnings).")
    ver.add_argument("file", help="a .jsonl file of records (ours or anyone's)")
    ver.add_argument("--strict", action="store_true", help="exit status 1 for warnings too, not only defects")
    ver.set_defaults(run=_verify)

    ren = commands.add_parser("render", help="draw a puzzle as a PNG image",
                              description="Draw a generated puzzle (or one record of a JSONL file) as a PNG, in a "
                                          "preset style or a style file; or a contact sheet of several styles.")
    add_generation_options(ren)
    ren.add_argument("--index", type=non_negative_int, default=0,
                     help="which puzzle of the seed's series (default 0)")
    ren.add_argument("--record", metavar="FILE.jsonl", help="draw a record of this file instead of generating")
    ren.add_argument("--number", type=positive_int, default=1, help="with --record: which record, counting from 1")
    ren.add_argument("--style", action="extend", type=comma_list, metavar="S1,S2",
                     help="preset (original, noborder, beige, altstyle) or a .json/.toml style file; several, "
                          "comma-separated or repeated, with --contact-sheet")
    ren.add_argument("--solved", action="store_true", help="draw the completed grid")
    ren.add_argument("--scale", type=positive_int, default=1, help="draw at this multiple of the style's size")
    ren.add_argument("--contact-sheet", action="store_true", help="one image with the puzzle in every style")
    ren.add_argument("--vary", action="append", type=option_type(_parse_vary), metavar="FACTOR=L1,L2",
                     help="with --contact-sheet: the puzzle at every level of an image factor (font_size, blur, "
                          "...) or depth/blanks, on each --style (repeat for every combination)")
    ren.add_argument("-o", "--output", default="puzzle.png",
                     help="image file to write, in the format its suffix names (default puzzle.png)")
    ren.set_defaults(run=_render)

    pro = commands.add_parser(
        "profile", help="figures of a set of puzzles, per difficulty, and distances to another set",
        description="Print per difficulty the figures of a set of puzzles: grid rows and columns, filled-cell "
                    "share, blanks per equation, shares of blanks per step level, of equation counts (<=7, 8-10, "
                    "11-13, >=14) and of operators, and the median, 90th percentile and largest shown number. "
                    "With --against, also the other set's figures and the distance of each: total variation "
                    "for distributions, ratio for single figures ('!' marks one outside the published profile's "
                    "goals). A set is 'published' (the published test set's figures, shipped with crossmath), a "
                    "published-format .jsonl file, a crossmath-build folder or a Hub dataset id.")
    pro.add_argument("source", metavar="SOURCE", help="published, FILE.jsonl, a crossmath-build folder or Hub id")
    pro.add_argument("--against", metavar="OTHER", help="the set to compare with (same kinds as SOURCE)")
    pro.add_argument("--config", help="config of a dataset (default: its default config; every config of a "
                                      "crossmath build holds the same puzzles)")
    pro.add_argument("--split", default="test", help="split of a dataset (default test; test+train joins both)")
    pro.add_argument("--json", action="store_true", help="print the figures (and distances) as JSON")
    pro.set_defaults(run=_profile)

    leg = commands.add_parser("legibility", help="read a build's numbers back with Tesseract, per config",
                              description="Read every shown number of a sample of each config's images back with "
                                          "Tesseract (cells cropped from the renderer's geometry) and record the "
                                          "share read correctly in crossmath_build.json and the dataset card.")
    leg.add_argument("dataset", metavar="DATASET_DIR", help="a finished crossmath-build folder")
    leg.add_argument("--sample", type=positive_int, default=20, help="images per config (default 20)")
    leg.add_argument("--min-legibility", type=percent, metavar="P", help="exit status 1 if a config reads below P%%")
    leg.set_defaults(run=_legibility)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
