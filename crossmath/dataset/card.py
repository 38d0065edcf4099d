"""The dataset card: YAML that declares configs, features, splits, licence and task; a body that documents it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crossmath.dataset.conflict import changes_line
from crossmath.dataset.experiment import experiment_section
from crossmath.dataset.factors import pairing
from crossmath.dataset.items import puzzle_at
from crossmath.dataset.parquet import SplitFiles
from crossmath.dataset.rows import column_doc, features
from crossmath.dataset.settings import DIFFICULTIES, BuildSettings
from crossmath.puzzles import profile
from crossmath.render.fonts import font_licence
from crossmath.render.styles import Style

LICENSE = "cc-by-4.0"

SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T")
"""The Hub's size categories, smallest first: each is ten times the one before."""

BENCHMARK_BIBTEX = """@article{xu2026crossmathbench,
  title={Do Vision-Language Models Truly Perform Vision Reasoning? A Rigorous Study of the Modality Gap},
  author={Xu, Yige and Wang, Yongjie and Wu, Zizhuo and Song, Kaisong and Lin, Jun and Shen, Zhiqi},
  journal={arXiv preprint arXiv:2604.16256},
  year={2026}
}"""
"""The published CrossMath benchmark, whose puzzle rules, record format and image styles the data follows."""


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values out in full: no YAML anchors, which some card readers do not follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def size_category(rows: int) -> str:
    """The Hub's size category of a dataset with this many rows (``n<1K`` up to ``n>1T``)."""
    return SIZE_CATEGORIES[min(max(len(str(rows)) - 3, 0), len(SIZE_CATEGORIES) - 1)]


def _dataset_info(config_name: str, yaml_features: list, files: dict[str, SplitFiles]) -> dict[str, Any]:
    """One config's ``dataset_info``, as ``datasets`` writes it: ``num_bytes`` is the in-memory Arrow size of a
    split, ``download_size`` the bytes of the config's Parquet files, ``dataset_size`` the sum of ``num_bytes``."""
    return {
        "config_name": config_name, "features": yaml_features,
        "splits": [{"name": split, "num_bytes": info.num_bytes, "num_examples": info.num_examples}
                   for split, info in files.items()],
        "download_size": sum(info.download_size for info in files.values()),
        "dataset_size": sum(info.num_bytes for info in files.values()),
    }


def card_metadata(settings: BuildSettings, files: dict[str, dict[str, SplitFiles]]) -> dict[str, Any]:
    """The YAML header: one config per style (or style and factor level), each with the splits that have puzzles and
    what their files hold."""
    rows = sum(settings.size(split) for config in settings.configs for split in settings.splits_of(config))
    return {
        "license": LICENSE,
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "language": ["en"],
        "multilinguality": ["monolingual"],
        "source_datasets": ["original"],
        "task_categories": ["image-text-to-text", "visual-question-answering"],
        "tags": ["crossmath", "arithmetic", "reasoning", "modality-gap", "synthetic"],
        "pretty_name": "crossmath puzzles",
        "size_categories": [size_category(rows)],
        "configs": [
            {"config_name": config.name, **({"default": True} if i == 0 else {}),
             "data_files": [{"split": split, "path": f"data/{config.name}/{split}-*.parquet"}
                            for split in settings.splits_of(config)]}
            for i, config in enumerate(settings.configs)
        ],
        "dataset_info": [
            _dataset_info(config.name, features(settings, config)._to_yaml_list(),
                          {split: files[config.name][split] for split in settings.splits_of(config)})
            for config in settings.configs
        ],
    }


def _font_name(font: str) -> str:
    """A font as the card names it: a bundled font's name, or only the file name of a font given by path."""
    return font if font_licence(font) is not None else Path(font).name


def _style_table(configs: list[tuple[str, Style]]) -> list[str]:
    """One row per config: the style its images were drawn in (a varied image factor shows in its row)."""
    lines = ["| config | cell | margin | background | number cell | operator cell | blank cell | border | text | "
             "font | blank shows |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in configs:
        border = f"{s.border_color}, {s.border_width} px" if s.has_border else "none"
        blank = f"`{s.blank_text}`" if s.blank_text else "nothing"
        lines.append(f"| `{name}` | {s.cell_size} px | {s.margin} px | {s.background} | {s.number_fill} | "
                     f"{s.operator_fill} | {s.blank_fill} | {border} | {s.text_color} | "
                     f"{_font_name(s.font)} {s.font_size} px | {blank} |")
    return lines


def _font_licences(styles: tuple[Style, ...]) -> list[str]:
    unknown = "a font file supplied to the build; its licence is not known to crossmath"
    return [f"- {_font_name(font)}: {font_licence(font) or unknown}" for font in dict.fromkeys(s.font for s in styles)]


def _profile_table(profiles: dict[str, dict[str, dict[str, dict]]]) -> list[str]:
    """The difficulty profile, per config (``profiles`` maps a config name to its profile by split and difficulty);
    the config column shows only when there are several."""
    several = len(profiles) > 1
    lines = [("| config " if several else "") + "| split | difficulty | puzzles | blanks per equation | "
             "deepest step: puzzles |", ("|---" if several else "") + "|---|---|---|---|---|"]
    for config, by_split in profiles.items():
        for split in ("test", "train"):
            for difficulty in DIFFICULTIES:
                entry = by_split.get(split, {}).get(difficulty)
                if not entry:
                    continue
                depths = ", ".join(f"{d}: {n}" for d, n in sorted(entry["depths"].items(), key=lambda kv: int(kv[0])))
                lines.append((f"| `{config}` " if several else "") + f"| {split} | {difficulty} | {entry['puzzles']} | "
                             f"{entry['blanks'] / entry['equations']:.2f} | {depths} |")
    return lines


def _against_published(settings: BuildSettings) -> list[str]:
    """The test split's profile next to the published test set's (the figures crossmath ships), as a section."""
    if not settings.test_size:
        return []
    puzzles = (puzzle_at(settings, "test", i, frozenset())[0] for i in range(settings.test_size))
    ours = profile.figures(profile.sample(puzzle) for puzzle in puzzles)
    return [
        "## Profile against the published test set",
        "",
        f"The test split (generation profile `{settings.test_profile}`; the train split's is "
        f"`{settings.train_profile}`) beside the published test set (90 easy, 85 medium, 75 "
        "hard puzzles; figures shipped with crossmath), with the distance of each figure: total variation for "
        "distributions, the ratio for single figures. `!` marks a distance outside the goals of crossmath's "
        "published profile (step levels 0.06, equation bins 0.10, operators 0.05; blanks per equation 5%; rows, "
        "columns and filled share 8%); a split of a few dozen puzzles per difficulty misses some by sampling "
        "noise alone. `crossmath profile DATASET --against published` prints the same table.",
        "",
        *profile.table(ours, profile.PUBLISHED, ("this dataset", "published")),
        "",
    ]


def dataset_card(settings: BuildSettings, summary: dict[str, Any], files: dict[str, dict[str, SplitFiles]]) -> str:
    """The full README.md of a built dataset; ``files`` says what each style's split files hold."""
    header = yaml.dump(card_metadata(settings, files), Dumper=_PlainDumper, sort_keys=False,
                       allow_unicode=True)
    names = [config.name for config in settings.configs]
    first = names[0]
    columns = [f"| `{name}` | {column_doc(name)} |" for name in features(settings, settings.configs[-1])]
    easy, medium, hard = settings.counts("test")
    t_easy, t_medium, t_hard = settings.counts("train")
    body = [
        "# crossmath puzzles",
        "",
        "Cross-math puzzles (crossword-style arithmetic grids: `A op B = C` across and down, crossing at numbers, "
        f"some numbers blanked) generated and verified by crossmath {summary['version']}. Every "
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
        'image = test[0]["image"].convert("RGB")   # images are palette PNGs: convert before saving as JPEG',
        "```",
        "",
        f"Configs: {', '.join(f'`{n}`' for n in names)}. {pairing(settings.vary)}",
        "",
        *([changes_line(summary["conflict_changes"]), ""] if settings.conflict else []),
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
        *_profile_table(summary.get("config_profiles") or {names[0]: summary["profiles"]}),
        "",
        *_against_published(settings),
        *experiment_section(settings, summary),
        "## Image styles",
        "",
        *_style_table([(config.name, config.style) for config in settings.configs]),
        "",
        "An image is columns x cell + 2 x margin pixels wide and rows x cell + 2 x margin high; empty cells are not "
        "drawn and text is centred in its cell.",
        "",
        "## Licence",
        "",
        f"The data is released under {LICENSE.upper()}. The images were drawn with these fonts:",
        "",
        *_font_licences(tuple(config.style for config in settings.configs)),
        "",
        "## Citation",
        "",
        "The puzzles follow the rules, record format and image styles of the CrossMath benchmark "
        "([paper](https://arxiv.org/abs/2604.16256), [code](https://github.com/xuyige/CrossMath), "
        "[data](https://huggingface.co/datasets/xuyige/CrossMath)); this data is generated anew, not taken from it.",
        "",
        "```bibtex",
        BENCHMARK_BIBTEX,
        "```",
        "",
    ]
    return f"---\n{header}---\n\n" + "\n".join(body)
