"""The report across runs: reads run folders, works out the summary, and writes ``report.md``, ``summary.json``,
the figures (PNG and SVG) and, when asked, the HTML page with its error gallery.

A gap is measured on the puzzles both runs share: per puzzle, the accuracy (micro: share of blanks right; macro:
whole answer right), averaged over samples; the gap is the mean of the per-puzzle differences. Its 95% interval is
a percentile bootstrap over puzzles and its p-value a two-sided sign-flip permutation test (both seeded).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crossmath.eval.rundir import RUN_FILES, is_run_folder
from crossmath.report.decomposition import Decomposition, decompose, misread_by_puzzle, nested, reading_modality
from crossmath.report.decomposition_report import decomposition_tables, write_decomposition_figure
from crossmath.report.latex import INTERVAL_STYLES, write_tables
from crossmath.report.leaderboard import leaderboard, leaderboard_json, leaderboard_table
from crossmath.report.outcomes import ReportError, find_runs, load_runs
from crossmath.report.reliance import reliance_rows, reliance_table
from crossmath.report.summary import summarize_runs, to_json
from crossmath.report.tables import all_tables

__all__ = ["ReportError", "gap_report"]

SUMMARY = "summary.json"


def gap_report(run_dirs: Sequence[str | Path], out: str | Path | None = None, metric: str = "micro", *,
               by: str | None = None, html: str | Path | None = None, gallery: int = 50,
               rank_by: str = "consistent", latex: str | None = None, csv: bool = False) -> str:
    """The report as markdown, the leaderboard first. With ``out``, also ``report.md``, ``summary.json`` and the
    figures written there; with ``html``, the self-contained page (its figures go to ``out``, or beside the page);
    with ``latex`` (``pm`` or ``brackets``: how intervals are written) or ``csv``, every table as
    ``tables/NAME.tex`` or ``tables/NAME.csv`` there. ``run_dirs`` are run folders, or folders holding them."""
    if html is not None and Path(html).is_dir():
        raise ReportError(f"--html {html} is a folder; give the page's file name, e.g. {Path(html) / 'report.html'}")
    if latex not in (None, *INTERVAL_STYLES):
        raise ReportError(f"--latex takes {' or '.join(INTERVAL_STYLES)}, not {latex!r}")
    folder = Path(out) if out is not None else Path(html).with_suffix("") if html is not None else None
    _refuse_run_folders(folder, html)
    found = [str(path) for path in find_runs(run_dirs)]
    reading = [path for path in found if reading_modality(path)]
    answering = [path for path in found if path not in reading]
    if reading and not answering:
        decompose([], reading)  # says in one line which runs the decomposition lacks
    runs = load_runs(answering)
    if gallery < 0:
        raise ReportError("the gallery size must be 0 or more")
    summary = summarize_runs(runs, metric, by)
    split = decompose(runs, reading)
    reliance = reliance_rows(runs)
    board = leaderboard(runs, metric, rank_by, extra=_split_columns(split, metric))
    tables = [leaderboard_table(board, metric, rank_by), *all_tables(summary), *decomposition_tables(split, metric),
              *[t for t in (reliance_table(reliance),) if t is not None]]
    markdown = "\n\n".join(table.markdown() for table in tables) + "\n"
    if folder is None:
        if latex is not None or csv:
            raise ReportError("LaTeX and CSV tables are written to the report's folder: give out")
        return markdown
    from crossmath.report.figures import write_figures, write_image_text_figure

    folder.mkdir(parents=True, exist_ok=True)
    figures = write_figures(summary, folder) + write_decomposition_figure(split, metric, folder)
    points = [(row.model, text, image) for row in board
              if (text := row.accuracy("text", metric)) and (image := row.accuracy("image", metric))]
    scatter = write_image_text_figure(points, metric, folder)
    figures += [scatter] if scatter else []
    data = {"leaderboard": leaderboard_json(board, metric), **to_json(summary)}
    if split:
        data["decomposition"] = nested(split, lambda d: to_json(d.parts()))
        data["effort"] = nested(split, lambda d: to_json({"modalities": d.effort, "image_over_text": d.ratio,
                                                          "transcripts": d.transcripts}))
    if reliance:
        data["reliance"] = to_json(reliance)
    (folder / SUMMARY).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if latex is not None or csv:
        write_tables(tables, folder / "tables", latex=latex, csv=csv)
    shown = "".join(f"\n![{f.name}]({f.name}.png)\n\n*{f.caption}*\n" for f in figures)
    (folder / "report.md").write_text(f"# crossmath modality-gap report\n\n{markdown}\n## Figures\n{shown}",
                                      encoding="utf-8")
    if html is not None:
        from crossmath.report.gallery import select
        from crossmath.report.html import write_html

        write_html(Path(html), tables, figures, folder, select(runs, gallery), misread=misread_by_puzzle(split))
    return markdown


def _refuse_run_folders(folder: Path | None, html: str | Path | None) -> None:
    """Refuse to write the report into a run folder, or the page over a run's file: a run's own ``report.md`` and
    results would be overwritten."""
    if folder is not None and is_run_folder(folder):
        raise ReportError(f"--out {folder} is a run folder; its own report.md would be overwritten: give the "
                          "report a folder of its own")
    if html is not None and is_run_folder(Path(html).parent) and Path(html).name in RUN_FILES:
        raise ReportError(f"--html {html} would overwrite a file of the run in {Path(html).parent}")


def _split_columns(split: Sequence[Decomposition], metric: str) -> dict[str, dict[str, Any]]:
    """The leaderboard's perception and integration columns, for each model whose gap is split in one style (a
    model split in several styles has a row per style in the decomposition table instead)."""
    per_model: dict[str, list[Decomposition]] = {}
    for part in split:
        per_model.setdefault(part.model, []).append(part)
    return {model: {"perception loss": parts[0].perception_loss[metric],
                    "integration loss": parts[0].integration_loss[metric]}
            for model, parts in per_model.items() if len(parts) == 1}
