"""The dataset card: YAML that declares configs, features, splits, licence and task; a body that documents it."""

from __future__ import annotations

from typing import Any

import yaml

from crossmath.dataset.experiment import experiment_section
from crossmath.dataset.factors import pairing
from crossmath.dataset.rows import column_doc, features
from crossmath.dataset.settings import DIFFICULTIES, BuildSettings

LICENSE = "cc-by-4.0"


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values out in full: no YAML anchors, which some card readers do not follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def card_metadata(settings: BuildSettings, split_bytes: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The YAML header: one config per style, each with the splits that have puzzles."""
    splits = [split for split in ("train", "test") if settings.size(split)]
    yaml_features = features(settings)._to_yaml_list()
    return {
        "license": LICENSE,
        "task_categories": ["image-text-to-text", "visual-question-answering"],
        "language": ["en"],
        "tags": ["crossmath", "arithmetic", "reasoning", "modality-gap", "synthetic"],
        "pretty_name": "crossmath puzzles",
        "size_categories": [_size_category(settings.train_size + settings.test_size)],
        "configs": [
            {"config_name": config.name, **({"default": True} if i == 0 else {}),
             "data_files": [{"split": split, "path": f"data/{config.name}/{split}-*.parquet"} for split in splits]}
            for i, config in enumerate(settings.configs)
        ],
        "dataset_info": [
            {"config_name": config.name, "features": yaml_features,
             "splits": [{"name": split, "num_bytes": split_bytes.get(config.name, {}).get(split, 0),
                         "num_examples": settings.size(split)} for split in splits]}
            for config in settings.configs
        ],
    }


def _profile_table(profiles: dict[str, dict[str, dict]]) -> list[str]:
    lines = ["| split | difficulty | puzzles | blanks per equation | deepest step: puzzles |", "|---|---|---|---|---|"]
    for split in ("test", "train"):
        for difficulty in DIFFICULTIES:
            entry = profiles.get(split, {}).get(difficulty)
            if not entry:
                continue
            depths = ", ".join(f"{d}: {n}" for d, n in sorted(entry["depths"].items(), key=lambda kv: int(kv[0])))
            lines.append(f"| {split} | {difficulty} | {entry['puzzles']} | "
                         f"{entry['blanks'] / entry['equations']:.2f} | {depths} |")
    return lines


def dataset_card(settings: BuildSettings, summary: dict[str, Any], split_bytes: dict[str, dict[str, int]]) -> str:
    """The full README.md of a built dataset."""
    header = yaml.dump(card_metadata(settings, split_bytes), Dumper=_PlainDumper, sort_keys=False,
                       allow_unicode=True)
    names = [config.name for config in settings.configs]
    first = names[0]
    columns = [f"| `{name}` | {column_doc(name)} |" for name in features(settings)]
    easy, medium, hard = settings.counts("test")
    t_easy, t_medium, t_hard = settings.counts("train")
    styles = [f"| `{s.name}` | {s.background} | {s.number_fill} | {s.operator_fill} | {s.blank_fill} | "
              f"{s.border_color or 'none'}{f', {s.border_width} px' if s.has_border else ''} | {s.text_color} | "
              f"{s.font} {s.font_size} px |" for s in (config.style for config in settings.configs)]
    body = [
        "# crossmath puzzles",
        "",
        "Cross-math puzzles (crossword-style arithmetic grids: `A op B = C` across and down, crossing at numbers, "
        "some numbers blanked) generated and verified by [crossmath](https://pypi.org/project/crossmath/). Every "
        "puzzle has exactly one solution, proven by search, and is solved completely by rounds of one-unknown "
        "equations; the image and the text columns carry exactly the same information, so the accuracy gap "
        "between an image prompt and a text prompt measures how well a model reasons over pictures.",
        "",
        "![example](example.png)",
        "",
        f"*`test-00000` in the `{first}` style.*",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'test = load_dataset("path/or/repo-id", "{first}", split="test")',
        "```",
        "",
        f"Configs: {', '.join(f'`{n}`' for n in names)}. {pairing(settings.vary)}",
        "",
        "## Columns",
        "",
        "| column | meaning |",
        "|---|---|",
        *columns,
        "",
        "## How it was made",
        "",
        f"- crossmath {summary['version']}; build seed {settings.seed}; content fingerprint "
        f"`{summary['fingerprint']}` (a hash over every row and image: the same settings give the same value).",
        f"- test: {settings.test_size} puzzles ({easy} easy, {medium} medium, {hard} hard); "
        f"train: {settings.train_size} puzzles ({t_easy} easy, {t_medium} medium, {t_hard} hard).",
        f"- text formats: {', '.join(settings.text_formats)}; solved images: "
        f"{'yes' if settings.solved_images else 'no'}.",
        f"- leak check: {summary['leak_check']}",
        "- difficulty presets: easy has at most one blank per equation, all step 1; medium has one or two blanks "
        "per equation and deepest step 2-5; hard has one blank per equation and deepest step 2-7.",
        "",
        *_profile_table(summary["profiles"]),
        "",
        *experiment_section(settings, summary),
        "## Image styles",
        "",
        "| style | background | number cell | operator cell | blank cell | border | text | font |",
        "|---|---|---|---|---|---|---|---|",
        *styles,
        "",
        "Cells are 55 px, images are columns x 55 by rows x 55 px, blanks are drawn empty, text is centred.",
        "",
        "## Licence",
        "",
        f"The data is released under {LICENSE.upper()}. Fonts used for drawing are the Liberation fonts "
        "(SIL Open Font License 1.1) and DejaVu fonts.",
        "",
    ]
    return f"---\n{header}---\n\n" + "\n".join(body)
