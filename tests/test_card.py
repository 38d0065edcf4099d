"""The dataset card and files as the Hub and ``datasets`` expect them, checked offline with their own rules."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard

import crossmath
from crossmath.dataset import BuildSettings, build
from crossmath.dataset.card import BENCHMARK_BIBTEX, SIZE_CATEGORIES, dataset_card, size_category
from crossmath.dataset.parquet import SplitFiles, shard_bounds, write_split
from crossmath.dataset.rows import features
from crossmath.render import STYLES
from crossmath.render.fonts import font_path

VARIANT = dataclasses.replace(STYLES["original"], name="dejavu40", font="DejaVuSans", font_size=20, cell_size=40)
SETTINGS = BuildSettings(train_size=20, test_size=9, styles=(STYLES["altstyle"], VARIANT), version="test")


def hub_list(name: str) -> Any:
    """One of the lists of valid metadata values that ``datasets`` ships (the Hub's own lists)."""
    return json.loads((resources.files("datasets.utils") / "resources" / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("card") / "data"
    build(out, SETTINGS, progress=False)
    return out


def test_the_card_metadata_follows_the_hub_rules(built):
    card = DatasetCard.load(built / "README.md")
    data = card.data.to_dict()
    assert set(data["size_categories"]) <= set(hub_list("size_categories.json"))
    assert data["size_categories"] == ["n<1K"]  # 29 puzzles in 2 styles: 58 rows
    creators = hub_list("creators.json")
    assert data["annotations_creators"] == ["machine-generated"] and data["annotations_creators"][0] in \
        creators["annotations"] and set(data["language_creators"]) <= set(creators["language"])
    assert set(data["multilinguality"]) <= set(hub_list("multilingualities.json"))
    assert set(data["language"]) <= set(hub_list("languages.json"))
    assert data["source_datasets"] == ["original"]
    configs = MetadataConfigs.from_dataset_card_data(card.data)  # raises on malformed data_files
    assert list(configs) == ["altstyle", "dejavu40"] and configs.get_default_config_name() == "altstyle"


def test_the_declared_features_splits_and_sizes_are_those_of_the_data(built):
    infos = DatasetInfosDict.from_dataset_card_data(DatasetCard.load(built / "README.md").data)
    for style in ("altstyle", "dejavu40"):
        info = infos[style]
        loaded = datasets.load_dataset(str(built), style)
        assert info.features == loaded["test"].features == features(SETTINGS)
        assert {name: split.num_examples for name, split in info.splits.items()} == {"train": 20, "test": 9}
        files = sorted((built / "data" / style).glob("*.parquet"))
        assert [f.name for f in files] == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
        assert info.download_size == sum(f.stat().st_size for f in files)
        assert info.dataset_size == sum(split.num_bytes for split in info.splits.values())
        for name, split in info.splits.items():
            # num_bytes is the in-memory Arrow size: exactly that of the loaded split, and within a few bytes of
            # validity bitmaps of the figure datasets records when it converts the Parquet files
            assert split.num_bytes == loaded[name].data.nbytes
            assert split.num_bytes == pytest.approx(loaded[name].info.splits[name].num_bytes, rel=1e-3)


def test_the_card_describes_the_styles_and_fonts_actually_built(built):
    text = (built / "README.md").read_text(encoding="utf-8")
    assert "| `dejavu40` | 40 px | 0 px |" in text and "DejaVuSans 20 px" in text
    assert "| `altstyle` | 55 px | 0 px |" in text and "LiberationSerif-Regular 27 px" in text
    assert "- DejaVuSans: Bitstream Vera and DejaVu licence" in text
    assert "- LiberationSerif-Regular: SIL Open Font License 1.1" in text
    assert "LiberationSans" not in text and "pypi.org" not in text
    assert '.convert("RGB")' in text and "arXiv:2604.16256" in text


def test_a_font_given_by_path_is_named_by_file_and_its_licence_not_claimed(tmp_path):
    own = tmp_path / "MyFont.ttf"
    own.write_bytes(font_path("DejaVuSans").read_bytes())
    style = dataclasses.replace(STYLES["original"], name="mine", font=str(own))
    settings = dataclasses.replace(SETTINGS, styles=(style,))
    summary = {"version": "test", "fingerprint": "f", "leak_check": "ok", "profiles": {}}
    files = {"mine": {split: SplitFiles(settings.size(split), 1, 1, ()) for split in ("train", "test")}}
    text = dataset_card(settings, summary, files)
    assert "- MyFont.ttf: a font file supplied to the build; its licence is not known" in text
    assert str(tmp_path) not in text


def test_parquet_is_written_as_datasets_writes_it(built):
    for path in sorted((built / "data").rglob("*.parquet")):
        parquet = pq.ParquetFile(path)
        assert b"content_defined_chunking" in parquet.metadata.metadata  # the CDC options datasets records
        assert b"huggingface" in parquet.metadata.metadata  # the features, for datasets to read back
        columns = parquet.metadata.row_group(0)
        assert all(columns.column(i).has_offset_index for i in range(columns.num_columns))  # page index


@pytest.mark.parametrize(("rows", "category"), [
    (0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (21_000, "10K<n<100K"), (999_999, "100K<n<1M"),
    (1_000_000, "1M<n<10M"), (3 * 10**9, "1B<n<10B"), (10**15, "n>1T"),
])
def test_size_categories_are_the_hubs(rows, category):
    assert size_category(rows) == category
    assert set(SIZE_CATEGORIES) <= set(hub_list("size_categories.json"))


def test_shards_are_contiguous_and_sized_as_push_to_hub_cuts_them():
    assert shard_bounds(10, 999, 1000) == [(0, 10)]
    assert shard_bounds(10, 2500, 1000) == [(0, 4), (4, 7), (7, 10)]  # int(2500 / 1000) + 1 shards
    assert shard_bounds(2, 10**6, 1000) == [(0, 1), (1, 2)]  # never more shards than rows
    assert shard_bounds(21_000, 160 * 10**6) == [(0, 21_000)]  # the default build's split: one file


def test_a_split_over_the_shard_size_is_cut_into_files_that_read_back_in_order(tmp_path):
    columns = datasets.Features({"id": datasets.Value("string"), "blob": datasets.Value("binary")})
    table = pa.Table.from_pylist([{"id": f"r{i}", "blob": bytes([i]) * 1000} for i in range(25)],
                                 schema=columns.arrow_schema)
    written = write_split(tmp_path, "train", table, columns, max_shard_size=10_000)
    assert written.files == tuple(f"train-{i:05d}-of-00003.parquet" for i in range(3))
    assert written.num_examples == 25 and written.num_bytes == table.nbytes
    assert written.download_size == sum((tmp_path / name).stat().st_size for name in written.files)
    back = pa.concat_tables([pq.read_table(tmp_path / name) for name in written.files])
    assert back.column("id").to_pylist() == [f"r{i}" for i in range(25)]


def test_the_readme_and_the_citation_file_cite_the_benchmark_as_the_card_does():
    root = Path(__file__).parents[1]
    assert BENCHMARK_BIBTEX in (root / "README.md").read_text(encoding="utf-8")
    citation = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    paper = citation["references"][0]
    assert paper["url"] == "https://arxiv.org/abs/2604.16256" and "Modality Gap" in paper["title"]
    assert citation["version"] == crossmath.__version__
