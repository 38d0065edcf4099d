"""The report's tables for papers: LaTeX ``booktabs`` tables (``tables/NAME.tex``, one ``\\input`` each) and CSV
files (``tables/NAME.csv``) with every interval split into its own columns.

In LaTeX, an interval is written as ``mean $\\pm$ half-width`` (``pm``: half the 95% interval's width) or as
``mean [low, high]`` (``brackets``), the best value of each column where one is defined is bold, and every cell,
title and note is escaped (``\\ & % $ # _ { } ~ ^`` and the few non-ASCII signs the tables use); a row opening
with ``[`` (a model named ``[ours] ...``) starts with ``{}``, so LaTeX does not take it for the line break's option.
"""

from __future__ import annotations

import csv as csvlib
import io
from collections.abc import Sequence
from pathlib import Path

from crossmath.report.stats import Difference, Estimate
from crossmath.report.tables import Table, Value, cell_number

INTERVAL_STYLES = ("pm", "brackets")

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "κ": r"$\kappa$", "±": r"$\pm$",
            "×": r"$\times$", "÷": r"$\div$", "−": "--", "¹": r"\textsuperscript{1}", "∅": r"$\emptyset$",
            "<": r"\textless{}", ">": r"\textgreater{}"}


def escape(text: str) -> str:
    """Text as LaTeX typesets it literally."""
    return "".join(_SPECIAL.get(char, char) for char in text)


def _interval(value: Estimate | Difference, style: str) -> str:
    sign = "+" if isinstance(value, Difference) else ""
    if style == "pm":
        text = f"{value.mean:{sign}.1f} $\\pm$ {(value.high - value.low) / 2:.1f}"
    else:
        text = f"{value.mean:{sign}.1f} [{value.low:{sign}.1f}, {value.high:{sign}.1f}]"
    if isinstance(value, Difference):
        text += f" ($p={value.p:.3f}$)" + ("" if value.paired else r"\textsuperscript{1}")
    return text


def latex_cell(value: Value, style: str) -> str:
    return escape(value) if isinstance(value, str) else _interval(value, style)


def _align(table: Table, column: int) -> str:
    """``r`` for a column of numbers (empty cells aside), else ``l``."""
    values = [row[column] for row in table.rows if row[column] not in ("", "n/a")]
    return "r" if values and all(cell_number(v) is not None for v in values) else "l"


def _row(cells: Sequence[str]) -> str:
    """A tabular row; one opening with ``[`` starts with ``{}``, else LaTeX reads it as the optional argument of the
    ``\\\\`` (or rule) on the line before."""
    line = " & ".join(cells)
    return ("{}" if line.lstrip().startswith("[") else "") + line + r" \\"


def latex_table(table: Table, style: str = "pm") -> str:
    """One ``table`` environment: caption (title and note), label ``tab:NAME``, a booktabs ``tabular``."""
    columns = range(len(table.header))
    best = [table.best_rows(k) for k in columns]
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             f"\\caption{{{escape(table.title)}. {escape(table.note)}}}" if table.note else
             f"\\caption{{{escape(table.title)}}}",
             f"\\label{{tab:{table.name}}}",
             f"\\begin{{tabular}}{{{''.join(_align(table, k) for k in columns)}}}", r"\toprule",
             _row([escape(h) for h in table.header]), r"\midrule"]
    for i, row in enumerate(table.rows):
        cells = [latex_cell(value, style) for value in row]
        lines.append(_row([f"\\textbf{{{cell}}}" if i in best[k] and cell else cell for k, cell in enumerate(cells)]))
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def csv_table(table: Table) -> str:
    """The table as CSV: an estimate's column becomes ``NAME``, ``NAME low``, ``NAME high`` (and a difference's
    also ``NAME p``); text cells as shown."""
    kinds = [_kind([row[k] for row in table.rows]) for k in range(len(table.header))]
    header: list[str] = []
    for name, kind in zip(table.header, kinds):
        header += [name] + ([f"{name} low", f"{name} high"] if kind else []) + ([f"{name} p"] if kind == "diff"
                                                                                 else [])
    buffer = io.StringIO()
    writer = csvlib.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in table.rows:
        cells: list[str] = []
        for value, kind in zip(row, kinds):
            if isinstance(value, (Estimate, Difference)):
                cells += [f"{value.mean:.4f}", f"{value.low:.4f}", f"{value.high:.4f}"]
                cells += [f"{value.p:.4g}"] if isinstance(value, Difference) else []
            else:
                cells += [value] + [""] * ({"diff": 3, "estimate": 2}.get(kind or "", 0))
        writer.writerow(cells)
    return buffer.getvalue()


def _kind(values: Sequence[Value]) -> str | None:
    if any(isinstance(v, Difference) for v in values):
        return "diff"
    return "estimate" if any(isinstance(v, Estimate) for v in values) else None


def write_tables(tables: Sequence[Table], folder: Path, *, latex: str | None, csv: bool) -> list[Path]:
    """Write each table as ``NAME.tex`` (intervals in the ``latex`` style) and/or ``NAME.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        if latex is not None:
            written.append(folder / f"{table.name}.tex")
            written[-1].write_text(latex_table(table, latex), encoding="utf-8")
        if csv:
            written.append(folder / f"{table.name}.csv")
            written[-1].write_text(csv_table(table), encoding="utf-8")
    return written
