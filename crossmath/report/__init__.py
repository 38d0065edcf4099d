"""crossmath's reports over run folders: the summary (accuracies, gaps, consistency, robustness, factors), its
statistics, tables, figures, the HTML page and its error gallery. It reads what ``crossmath-eval run`` wrote and
never loads a model: a report needs neither torch nor transformers."""
