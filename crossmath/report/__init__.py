"""crossmath's reports over run folders: the summary (accuracies, gaps, consistency, robustness, factors), the
gap's decomposition into perception and integration, their statistics, tables, figures, the HTML page and its
error gallery. It reads what ``crossmath-eval run`` wrote and
never loads a model: a report needs neither torch nor transformers."""

RANK_BY = ("consistent", "text", "image", "hybrid", "image-text", "hybrid-text", "kappa")
"""Columns a leaderboard can be ranked by (:mod:`crossmath.report.leaderboard`): accuracies, consistent accuracy
and kappa highest first, gaps nearest zero first. Here, so that the command line's --help loads no statistics."""
