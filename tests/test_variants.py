"""Controlled variants: generator settings in a build, --vary sweeps of image, blank-set and grid factors,
experiment files, perturbations, and the depth ladder's re-blanked grids."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from crossmath import generate
from crossmath.dataset import BuildSettings, build, merge
from crossmath.dataset.cli import main as build_main
from crossmath.dataset.factors import plan_configs
from crossmath.dataset.files import read_json
from crossmath.dataset.items import leak_key
from crossmath.dataset.settings import SPLITS
from crossmath.puzzles.generator import reblank
from crossmath.render import STYLES, perturb, render

TEXT = ["markdown_table", "markdown_answer", "solutions", "solving_steps", "answer", "blank_steps", "difficulty"]
HUB_CONFIG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def cli_build(out: Path, *args: str) -> int:
    return build_main(["--out", str(out), "--num-proc", "1", "--no-progress", *args])


def config_names(folder: Path) -> list[str]:
    return [c["config_name"] for c in yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])["configs"]]


def load(folder: Path) -> dict[str, datasets.Dataset]:
    """Every config's test split, loaded with ``datasets`` as a user would."""
    return {name: datasets.load_dataset(str(folder), name, split="test") for name in config_names(folder)}


def columns(folder: Path, split: str = "test") -> dict[str, dict[str, list]]:
    """Every config's text columns of a split, read straight from its Parquet files (quicker than ``datasets``)."""
    return {name: pa.concat_tables([pq.read_table(path) for path in sorted(
        (folder / "data" / name).glob(f"{split}-*.parquet"))]).drop(["image"]).to_pydict()
        for name in config_names(folder)}


@pytest.fixture(scope="module")
def image_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweeps") / "image"
    assert cli_build(out, "--train-size", "1", "--test-size", "3", "--styles", "original", "--vary",
                     "font_size=18,30", "--vary", "gaussian_noise=0,8") == 0
    return out


@pytest.fixture(scope="module")
def depth_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweeps") / "depth"
    assert cli_build(out, "--train-size", "6", "--test-size", "6", "--styles", "original",
                     "--vary", "depth=1,2,3,4") == 0
    return out


def test_image_factors_give_identical_puzzles_whose_images_differ(image_sweep):
    configs = load(image_sweep)
    assert list(configs) == ["original-font_size-18-gaussian_noise-0", "original-font_size-18-gaussian_noise-8",
                             "original-font_size-30-gaussian_noise-0", "original-font_size-30-gaussian_noise-8"]
    assert all(HUB_CONFIG_NAME.match(name) for name in configs)
    first = configs["original-font_size-18-gaussian_noise-0"]
    images = set()
    for name, rows in configs.items():
        assert rows["id"] == first["id"] and all(rows[c] == first[c] for c in TEXT)
        assert set(rows["style"]) == {name}
        size, noise = (int(v) for v in re.findall(r"\d+", name.split("size-")[1]))
        assert set(rows["factor_font_size"]) == {size} and set(rows["factor_gaussian_noise"]) == {noise}
        images.add(rows[0]["image"].tobytes())
    assert len(images) == 4
    card = (image_sweep / "README.md").read_text()
    assert "only the image differs" in card and "`factor_font_size`" in card and "gaussian_noise" in card


def test_a_sweep_is_deterministic_and_shards_merge_to_it(image_sweep, tmp_path):
    settings = BuildSettings.from_dict(read_json(image_sweep / "crossmath_build.json")["settings"])
    shards = [tmp_path / f"shard{k}" for k in (1, 2)]
    for k, folder in enumerate(shards, start=1):
        build(folder, settings, shard=(k, 2), progress=False)
    merged = merge(tmp_path / "merged", shards)
    assert merged.fingerprint == read_json(image_sweep / "crossmath_build.json")["fingerprint"]


def test_a_depth_ladder_keeps_the_solved_grid_and_sets_the_deepest_step(depth_sweep):
    configs = columns(depth_sweep)
    assert list(configs) == [f"original-depth-{d}" for d in (1, 2, 3, 4)]
    base = configs["original-depth-1"]
    for depth, rows in enumerate(configs.values(), start=1):
        assert rows["id"] == base["id"] and rows["solutions"] == base["solutions"]
        assert [max(steps) for steps in rows["blank_steps"]] == [depth] * len(rows["id"])
        assert set(rows["factor_depth"]) == {depth}
    assert configs["original-depth-2"]["answer"] != configs["original-depth-4"]["answer"]
    train = columns(depth_sweep, "train")
    assert all(t["solutions"] == train["original-depth-1"]["solutions"] for t in train.values())
    solved = {s for rows in configs.values() for s in rows["solutions"]}
    assert not solved & {s for t in train.values() for s in t["solutions"]}  # no leak across any configs
    card = (depth_sweep / "README.md").read_text()
    assert "same solved grids" in card
    for depth in (1, 2, 3, 4):  # the card's difficulty profile is per config: each holds its own depth
        rows_of_config = [row for row in (line.split(" | ") for line in card.splitlines()
                                          if line.startswith(f"| `original-depth-{depth}` | ")) if row[1] in SPLITS]
        assert {row[1] for row in rows_of_config} == set(SPLITS)
        assert all(row[-1].rstrip(" |") == f"{depth}: {row[3]}" for row in rows_of_config)


def test_reblank_keeps_layout_and_numbers_and_reaches_the_level():
    puzzle = generate("medium", seed=4, index=2)
    for depth in (1, 2, 3):
        again = reblank(puzzle, depth=depth, seed=4, index=2)
        assert again is not None and again.analysis is not None
        assert again.analysis.depth == depth and again.analysis.unique
        assert again.grid(solved=True) == puzzle.grid(solved=True) and leak_key(again) == leak_key(puzzle)
        assert again == reblank(puzzle, depth=depth, seed=4, index=2)
    three = reblank(puzzle, blanks=3, seed=4, index=2)
    assert three is not None and len(three.blanks) == 3


def test_grid_factors_draw_their_own_unpaired_puzzles(tmp_path):
    out = tmp_path / "ops"
    assert cli_build(out, "--train-size", "0", "--test-size", "3", "--styles", "beige",
                     "--vary", "operators=+-,+-*/", "--text-formats", "markdown") == 0
    configs = columns(out)
    assert list(configs) == ["beige-operators-plus_minus", "beige-operators-plus_minus_times_div"]
    plus_minus = configs["beige-operators-plus_minus"]
    assert set(plus_minus["operators"]) == set(plus_minus["factor_operators"]) == {"+-"}
    assert not any(op in table for table in plus_minus["markdown_table"] for op in "×÷")
    assert plus_minus["solutions"] != configs["beige-operators-plus_minus_times_div"]["solutions"]
    assert "not paired" in (out / "README.md").read_text()


def test_one_at_a_time_varies_each_factor_alone_from_the_base():
    configs = plan_configs((STYLES["altstyle"],), {"font_size": [20, 27, 34], "blur": [0, 1.5]}, one_at_a_time=True)
    assert [c.name for c in configs] == ["altstyle", "altstyle-font_size-20", "altstyle-font_size-34",
                                         "altstyle-blur-1.5"]
    assert configs[3].levels == {"font_size": 27, "blur": 1.5} and configs[3].style.font_size == 27


@pytest.mark.skipif(sys.version_info < (3, 11), reason="experiment files are TOML, read with tomllib (3.11+)")
def test_puzzle_settings_and_an_experiment_file_reach_the_build(tmp_path):
    experiment = tmp_path / "exp.toml"
    experiment.write_text('test_size = 5\ntrain_size = 0\nstyles = ["original"]\ntest_mix = [0, 0, 1]\n'
                          'text_formats = ["markdown"]\n\n[puzzle]\noperators = "+-"\n\n[puzzle.hard]\n'
                          'depth = [3, 4]\n\n[vary]\ndownscale = [1, 2]\n')
    out = tmp_path / "exp"
    assert cli_build(out, "--experiment", str(experiment), "--test-size", "4") == 0  # the option overrides the file
    assert config_names(out) == ["original-downscale-1", "original-downscale-2"]
    rows = columns(out)["original-downscale-2"]
    assert len(rows["id"]) == 4 and set(rows["operators"]) == {"+-"}
    assert all(3 <= max(steps) <= 4 for steps in rows["blank_steps"])
    sizes = [Image.open(io.BytesIO(pq.read_table(next((out / "data" / name).glob("test-*"))).column("image")[0]
                                   .as_py()["bytes"])).size for name in config_names(out)]
    assert sizes[0] == sizes[1]  # downscaled, then resampled back
    settings = read_json(out / "crossmath_build.json")["settings"]
    assert settings["puzzle"] == {"operators": "+-"} and settings["puzzle_by_difficulty"] == {"hard": {"depth": [3, 4]}}
    assert (out / "experiment.toml").read_text() == experiment.read_text()
    card = (out / "README.md").read_text()
    assert "## Experiment file" in card and 'operators = "+-"' in card and "hard: `depth` = `[3, 4]`" in card


@pytest.mark.parametrize("args, message", [
    (["--vary", "fontsize=1,2"], "unknown factor 'fontsize'"),
    (["--vary", "depth=0,2"], "depth levels are whole numbers of 1 or more"),
    (["--vary", "jpeg_quality=200"], "jpeg_quality cannot be 200"),
    (["--vary", "font_size=18", "--vary", "font_size=20"], "--vary font_size is given twice"),
    (["--depth", "3"], "easy puzzles of config original: easy puzzles are solved in one step"),
    (["--operators", "insane:+-"], "unknown difficulty 'insane'"),
])
def test_bad_variant_settings_are_one_error_line(tmp_path, capsys, args, message):
    code: int | str | None
    try:
        code = cli_build(tmp_path / "x", "--train-size", "1", "--test-size", "3", "--styles", "original", *args)
    except SystemExit as exc:  # argparse refuses an option value before the command runs
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and message in err.strip().splitlines()[-1]


def test_perturbations_are_deterministic_and_neutral_levels_change_nothing():
    image = render(generate("hard", seed=1), "original")
    assert perturb.apply(image, {"rotate": 0, "blur": 0, "gaussian_noise": 0}).tobytes() == image.tobytes()
    noisy = perturb.apply(image, {"gaussian_noise": 8}, seed=3, key="test-00001")
    assert noisy.tobytes() == perturb.apply(image, {"gaussian_noise": 8}, seed=3, key="test-00001").tobytes()
    assert noisy.tobytes() != perturb.apply(image, {"gaussian_noise": 8}, seed=3, key="test-00002").tobytes()
    difference = np.asarray(noisy, dtype=float) - np.asarray(image, dtype=float)
    assert 5 < difference[np.asarray(image).min(axis=2) > 40].std() < 9  # about sigma where nothing clips
    rotated = perturb.apply(image, {"rotate": 30})
    assert rotated.width > image.width and rotated.height > image.height
    for name, level in (("blur", 2), ("downscale", 3), ("contrast", 0.5), ("jpeg_quality", 20)):
        changed = perturb.apply(image, {name: level})
        assert changed.size == image.size and changed.tobytes() != image.tobytes()
    with pytest.raises(perturb.PerturbationError, match=r"downscale cannot be 0\.5"):
        perturb.apply(image, {"downscale": 0.5})


def test_box_after_follows_a_rotated_cell():
    image = Image.new("RGB", (300, 200), "white")
    image.paste((255, 0, 0), (40, 60, 80, 100))
    rotated = perturb.apply(image, {"rotate": 20})
    x0, y0, x1, y1 = perturb.box_after((40, 60, 80, 100), image.size, {"rotate": 20})
    inside = np.asarray(rotated.crop((round(x0) + 2, round(y0) + 2, round(x1) - 2, round(y1) - 2)), dtype=int)
    assert inside.shape[0] > 20 and inside.shape[1] > 20
    assert (inside[..., 0] > 200).all() and (inside[..., 1] < 60).all()  # wholly within the red square


def test_contact_sheet_of_a_factor(tmp_path):
    from crossmath.cli import main

    sheet = tmp_path / "sheet.png"
    assert main(["render", "--contact-sheet", "--vary", "font_size=12,18,24,32", "--seed", "3", "-o",
                 str(sheet)]) == 0
    one = render(generate("medium", seed=3, index=0), "original")
    assert Image.open(sheet).size == (4 * one.width + 5 * 20, one.height + 40)


def test_eval_runs_every_config_and_records_its_factor_levels(tiny_models, tmp_path):
    import json

    from crossmath.eval.cli import main as eval_main

    data = tmp_path / "sweep"
    assert cli_build(data, "--train-size", "0", "--test-size", "2", "--styles", "original",
                     "--vary", "font_size=18,30") == 0
    assert eval_main(["run", "--no-progress", "--model", tiny_models["qwen"], "--dataset", str(data), "--style",
                      "all", "--modality", "image", "--max-new-tokens", "4", "--output", str(tmp_path / "runs")]) == 0
    for size in (18, 30):
        config = json.loads((tmp_path / "runs" / "tiny-qwen2-vl" / f"original-font_size-{size}-image" /
                             "config.json").read_text())
        assert config["factors"] == {"font_size": size} and config["style"] == f"original-font_size-{size}"
