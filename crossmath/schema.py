"""Names the dataset builder writes and the evaluator, trainer, reports and task hooks read: one place for both
sides, so a build and its readers cannot drift apart. A leaf module: it imports nothing of crossmath."""

from __future__ import annotations

MANIFEST = "crossmath_build.json"
"""A finished build's manifest (settings, fingerprint, files written)."""

GRID_COLUMNS = {"json": "grid_json", "csv": "grid_csv", "cells": "grid_cells"}
"""The column of each extra grid serialization (``--text-formats``)."""

TEXT_COLUMNS = {"markdown": "markdown_table", **GRID_COLUMNS}
"""The column of every text form a prompt can carry (the markdown table is always there)."""

CONFLICT_PREFIX = "conflict_"
"""Prefix of a conflict config's twin columns (``conflict_markdown_table``, ``conflict_answer``, ...)."""

CONFLICT_SUFFIX = "-conflict"
"""A conflict config is named after its plain config with this suffix (``original-conflict``)."""

FACTOR_PREFIX = "factor_"
"""Prefix of the columns that hold a varied factor's level (``factor_font_size``)."""
