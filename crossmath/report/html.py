"""The report as one self-contained HTML page: figures, tables, and the error gallery, with every image embedded
(nothing is fetched when the page is viewed). Each gallery entry shows the puzzle as the model saw it, each
modality's answer with the wrong blanks marked, the solved grid drawn by the renderer with the wrong cells
highlighted, and links to its lines in the runs' ``predictions.jsonl``.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

from crossmath.errors import CrossmathError
from crossmath.eval.answers import answer_tokens
from crossmath.eval.metrics import step_category
from crossmath.eval.rundir import PREDICTIONS
from crossmath.puzzles.text import from_markdown
from crossmath.render.draw import encode_png, render
from crossmath.render.styles import STYLES, Style, resolve_style
from crossmath.report.figures import FigureFile
from crossmath.report.gallery import GROUP_TITLES, Entry
from crossmath.report.tables import Table

ALL_WRONG = "#D55E00"
MIXED = "#CC79A7"
ONLY_WRONG_IN = {"text": "#56B4E9", "image": "#E69F00", "hybrid": "#F0E442"}
"""Highlight colours of a wrong cell (Okabe-Ito): by the one modality that got it wrong, in every modality that
answered, or in some other set of modalities."""

REPLY_CHARS = 1500
"""Characters of each model reply kept in the page."""
GALLERY_PNG_LEVEL = 1
"""zlib level of the highlighted grids (RGB, unlike the palette images of the dataset): a few ms each instead of
tens, at a page size well under the 5 MB bar for 50 puzzles."""

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:1100px;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:13px}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left;vertical-align:top}
figure{margin:.5rem 0 1.5rem} figure img{max-width:100%;height:auto} figcaption{font-size:13px;color:#555}
.filters{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #ddd;z-index:1}
.entry{border:1px solid #ddd;border-radius:6px;padding:.6rem .8rem;margin:.8rem 0}
.entry h4{margin:.1rem 0 .4rem}.pattern{font-weight:normal;color:#555;font-size:13px}
.images{display:flex;flex-wrap:wrap;gap:1rem}.images figure{margin:0}.images img{max-width:520px}
.wrong{background:#D55E00;color:#fff;padding:0 .2rem;border-radius:3px;text-decoration:line-through}
.ok{padding:0 .2rem}.key{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #888}
pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:.4rem}
"""

SCRIPT = """
const filters = {difficulty: "", step: "", style: ""};
function applyFilters() {
  let shown = 0;
  for (const entry of document.querySelectorAll("article.entry")) {
    const ok = (!filters.difficulty || entry.dataset.difficulty === filters.difficulty)
      && (!filters.step || entry.dataset.steps.split(" ").includes(filters.step))
      && (!filters.style || entry.dataset.style === filters.style);
    entry.hidden = !ok;
    if (ok) shown++;
  }
  for (const group of document.querySelectorAll("section.group")) {
    group.hidden = !group.querySelector("article.entry:not([hidden])");
  }
  document.getElementById("shown").textContent = String(shown);
}
for (const select of document.querySelectorAll("select[data-filter]")) {
  select.addEventListener("change", () => { filters[select.dataset.filter] = select.value; applyFilters(); });
}
applyFilters();
"""

CONSISTENCY_NOTE = (
    "Reading consistency: a model that reasons the same way over text and image solves the same puzzles in both. "
    "Agreement counts puzzles solved in both or in neither; Cohen's kappa corrects it for the agreement two "
    "independent modalities with these accuracies would reach by chance (1: the same puzzles, 0: no more alike "
    "than chance). McNemar's exact test asks whether the puzzles solved in only one modality lean to one side; "
    "consistent accuracy is the share of puzzles solved in every modality, the accuracy of a model that must not "
    "depend on how the puzzle is shown.")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def highlight_colour(wrong: Sequence[str], modalities: Sequence[str]) -> str | None:
    """The highlight of a blank wrong in ``wrong`` out of the ``modalities`` that answered (None when right)."""
    if not wrong:
        return None
    if len(wrong) == len(modalities):
        return ALL_WRONG
    return ONLY_WRONG_IN.get(wrong[0], MIXED) if len(wrong) == 1 else MIXED


def _style(name: str) -> Style:
    try:
        return resolve_style(name)
    except CrossmathError:
        return STYLES["original"]


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    note = f"<p>{escape(table.note)}</p>" if table.note else ""
    return f"<h3>{escape(table.title)}</h3>{note}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _answer_html(answer: str | None, correct: Sequence[bool], expected: Sequence[str]) -> str:
    if answer is None:
        return '<span class="wrong">no answer</span>'
    tokens = answer_tokens(answer)
    cells = []
    for j, value in enumerate(expected):
        shown = tokens[j] if j < len(tokens) else "∅"
        ok = j < len(correct) and correct[j]
        cells.append(f'<span class="ok">{escape(shown)}</span>' if ok else
                     f'<span class="wrong" title="expected {escape(value)}">{escape(shown)}</span>')
    extra = "".join(f' <span class="wrong" title="extra value">{escape(t)}</span>' for t in tokens[len(expected):])
    return " ".join(cells) + extra


def _solved_grid(entry: Entry) -> str:
    item = entry.item
    if item is None or "markdown" not in item.texts:
        return ""
    try:
        puzzle = from_markdown(item.texts["markdown"], solve=False)
        puzzle = puzzle.with_values(dict(zip(puzzle.blanks, (int(v) for v in item.answer))))
    except (CrossmathError, ValueError):
        return ""
    modalities = list(entry.runs)
    marks = {cell: colour for cell, wrong in zip(puzzle.blanks, entry.wrong_in())
             if (colour := highlight_colour(wrong, modalities)) is not None}
    image = render(puzzle, _style(entry.style), solved=True, highlight=marks)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=GALLERY_PNG_LEVEL)
    return (f'<figure><img class="solved" src="{data_uri(buffer.getvalue())}" alt="solved grid of '
            f'{escape(entry.id)} with wrong cells highlighted">'
            '<figcaption>solution, wrong cells highlighted</figcaption></figure>')


def _entry_html(entry: Entry, page_dir: Path) -> str:
    item = entry.item
    expected = list(item.answer) if item is not None else []
    steps = sorted({step_category(item.steps[j]) for j, wrong in enumerate(entry.wrong_in())
                    if wrong and item is not None and j < len(item.steps)})
    images = ""
    if item is not None:
        images = (f'<figure><img class="puzzle" src="{data_uri(encode_png(item.image()))}" alt="puzzle '
                  f'{escape(entry.id)} as the model saw it"><figcaption>puzzle as shown</figcaption></figure>')
    images += _solved_grid(entry)
    rows = [f"<tr><th>expected</th><td>{escape(' '.join(expected))}</td><td></td></tr>"] if expected else []
    replies = []
    for modality, run in entry.runs.items():
        outcome = run.puzzles[entry.id]
        link = Path(os.path.relpath(run.path / PREDICTIONS, page_dir)).as_posix()
        lines = ", ".join(str(n) for n in outcome.lines)
        note = f" (sample 1 of {len(outcome.answers)})" if len(outcome.answers) > 1 else ""
        answer = _answer_html(outcome.answers[0], outcome.correct[0], expected or ["?"] * len(outcome.correct[0]))
        rows.append(f"<tr><th>{escape(modality)}{note}</th><td>{answer}</td><td><a href=\"{escape(link)}\">"
                    f"{PREDICTIONS} line {lines}</a></td></tr>")
        replies.append(f"{modality}: {outcome.outputs[0][:REPLY_CHARS]}")
    difficulty = (item.difficulty if item is not None else None) or "unknown"
    return (f'<article class="entry" data-difficulty="{escape(difficulty)}" data-steps="{" ".join(steps)}" '
            f'data-style="{escape(entry.style)}"><h4>{escape(entry.id)} · {escape(entry.model)} · '
            f'{escape(entry.style)} · {escape(difficulty)} <span class="pattern">{escape(entry.pattern)}</span></h4>'
            f'<div class="images">{images}</div><table class="answers">{"".join(rows)}</table>'
            f"<details><summary>replies</summary><pre>{escape(chr(10).join(replies))}</pre></details></article>")


def _select(name: str, label: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{label} <select data-filter="{name}"><option value="">all</option>{options}</select></label> '


def _gallery_html(entries: Sequence[Entry], page_dir: Path) -> str:
    difficulties = sorted({(e.item.difficulty if e.item else None) or "unknown" for e in entries})
    legend = " ".join(f'<span class="key" style="background:{c}"></span> wrong only in {m}'
                      for m, c in ONLY_WRONG_IN.items())
    legend += (f' <span class="key" style="background:{ALL_WRONG}"></span> wrong in every modality'
               f' <span class="key" style="background:{MIXED}"></span> wrong in some')
    parts = ['<div class="filters">', _select("difficulty", "difficulty", difficulties),
             _select("step", "wrong blank at step level", ["step1", "step2", "step3", "step4+"]),
             _select("style", "style", sorted({e.style for e in entries})),
             f' showing <b id="shown">{len(entries)}</b> of {len(entries)}</div><p>{legend}</p>']
    for rank, title in enumerate(GROUP_TITLES):
        members = [e for e in entries if e.rank == rank]
        if members:
            parts.append(f'<section class="group"><h3>{escape(title)} ({len(members)})</h3>'
                         + "".join(_entry_html(e, page_dir) for e in members) + "</section>")
    return "".join(parts)


def write_html(path: Path, tables: Sequence[Table], figures: Sequence[FigureFile], figure_dir: Path,
               entries: Sequence[Entry], title: str = "crossmath modality-gap report") -> Path:
    """Write the page to ``path``: figures (PNG, embedded), tables, the consistency note, the gallery."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page_dir = path.parent.resolve()
    figure_html = "".join(
        f'<figure><img class="figure" src="{data_uri((figure_dir / f"{f.name}.png").read_bytes())}" '
        f'alt="{escape(f.name)}"><figcaption>{escape(f.caption)}</figcaption></figure>' for f in figures)
    gallery = (_gallery_html(entries, page_dir) if entries else "<p>No wrongly answered puzzles.</p>")
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1><h2>Figures</h2>{figure_html}"
            f"<h2>Tables</h2>{''.join(_table_html(t) for t in tables)}<p>{escape(CONSISTENCY_NOTE)}</p>"
            f'<h2 id="gallery">Error gallery</h2>{gallery}<script>{SCRIPT}</script></body></html>\n')
    path.write_text(page, encoding="utf-8")
    return path
