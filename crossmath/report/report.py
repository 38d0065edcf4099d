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

from crossmath.report.outcomes import ReportError, load_runs
from crossmath.report.summary import summarize_runs, to_json
from crossmath.report.tables import all_tables

__all__ = ["ReportError", "gap_report"]

SUMMARY = "summary.json"


def gap_report(run_dirs: Sequence[str | Path], out: str | Path | None = None, metric: str = "micro", *,
               by: str | None = None, html: str | Path | None = None, gallery: int = 50) -> str:
    """The report as markdown. With ``out``, also ``report.md``, ``summary.json`` and the figures written there;
    with ``html``, the self-contained page (its figures go to ``out``, or beside the page)."""
    if html is not None and Path(html).is_dir():
        raise ReportError(f"--html {html} is a folder; give the page's file name, e.g. {Path(html) / 'report.html'}")
    runs = load_runs(run_dirs)
    if gallery < 0:
        raise ReportError("the gallery size must be 0 or more")
    summary = summarize_runs(runs, metric, by)
    tables = all_tables(summary)
    markdown = "\n\n".join(table.markdown() for table in tables) + "\n"
    if out is None and html is None:
        return markdown
    from crossmath.report.figures import write_figures

    folder = Path(out) if out is not None else Path(html).with_suffix("")  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    figures = write_figures(summary, folder)
    (folder / SUMMARY).write_text(json.dumps(to_json(summary), indent=2, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
    shown = "".join(f"\n![{f.name}]({f.name}.png)\n\n*{f.caption}*\n" for f in figures)
    (folder / "report.md").write_text(f"# crossmath modality-gap report\n\n{markdown}\n## Figures\n{shown}",
                                      encoding="utf-8")
    if html is not None:
        from crossmath.report.gallery import select
        from crossmath.report.html import write_html

        write_html(Path(html), tables, figures, folder, select(runs, gallery))
    return markdown
