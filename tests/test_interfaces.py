"""The Python API and the commands agree: the same defaults, the same option names for the same things."""

from __future__ import annotations

import pytest

from crossmath import cli, generate
from crossmath._version import __version__
from crossmath.dataset import BuildSettings
from crossmath.dataset import cli as build_cli
from crossmath.puzzles.generator import GENERATOR_VERSION
from crossmath.puzzles.text import from_markdown, to_markdown
from crossmath.render import STYLES


def test_generate_with_a_seed_is_the_first_puzzle_the_command_prints(capsys):
    """One rule: ``generate(seed=S)`` is item 0 of seed S's series, which ``crossmath generate --seed S`` prints
    first (and ``crossmath render --seed S`` draws)."""
    assert cli.main(["generate", "--seed", "7", "--count", "2"]) == 0
    first, second = capsys.readouterr().out.strip().split("\n\n")
    assert to_markdown(generate(seed=7)) == first and to_markdown(generate(seed=7, index=1)) == second
    assert generate(seed=7) == generate(seed=7, index=0) == from_markdown(first)
    assert generate(seed=7).info.index == 0
    assert cli.build_parser().parse_args(["render"]).index == 0


def test_a_text_form_is_chosen_by_text_format_in_every_command(capsys):
    """``--format`` names output kinds (crossmath-build) only; a text form is ``--text-format`` everywhere."""
    assert cli.main(["generate", "--seed", "7", "--text-format", "csv"]) == 0
    assert capsys.readouterr().out.startswith(",,,,,,133,+,14,=,?")
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["generate", "--format", "csv"])
    assert build_cli.build_parser().parse_args(["--out", "d", "--format", "crossmath-jsonl"]).outputs == [
        "crossmath-jsonl"]


def test_render_takes_styles_as_a_comma_list_or_repeated(tmp_path):
    """``--style`` is a comma list in crossmath render as in crossmath-eval (repeating it still works)."""
    listed, repeated = tmp_path / "listed.png", tmp_path / "repeated.png"
    assert cli.main(["render", "--contact-sheet", "--style", "original,altstyle", "-o", str(listed)]) == 0
    assert cli.main(["render", "--contact-sheet", "--style", "original", "--style", "altstyle",
                     "-o", str(repeated)]) == 0
    assert listed.read_bytes() == repeated.read_bytes()
    assert cli.build_parser().parse_args(["render", "--style", "beige,noborder", "--style", "x.json"]).style == [
        "beige", "noborder", "x.json"]


def test_build_settings_from_python_default_like_the_command():
    """``BuildSettings()`` is what ``crossmath-build --out DIR`` builds: four presets, the version recorded."""
    settings = BuildSettings()
    assert settings == build_cli.settings_from_args(build_cli.build_parser().parse_args(["--out", "d"]))
    assert settings.styles == tuple(STYLES.values())
    assert settings.version == f"{__version__} (generator {GENERATOR_VERSION})"
