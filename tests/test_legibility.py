"""The legibility check: Tesseract reads the numbers of the published styles back, and not those of a tiny font."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crossmath.cli import main as crossmath_main
from crossmath.dataset.cli import main as build_main
from crossmath.dataset.files import read_json
from crossmath.dataset.legibility import LegibilityError, check_dataset

pytesseract = pytest.importorskip("pytesseract", reason="the legibility check needs pytesseract "
                                                        "(pip install 'crossmath[ocr]')")
if shutil.which("tesseract") is None:
    pytest.skip("Tesseract OCR is not installed (apt-get install tesseract-ocr); .ci/run installs it",
                allow_module_level=True)


def build(out: Path, *args: str) -> int:
    return build_main(["--out", str(out), "--train-size", "0", "--test-size", "2", "--num-proc", "1",
                       "--no-progress", *args])


def test_the_published_styles_read_back_and_the_card_says_so(tmp_path, capsys):
    out = tmp_path / "presets"
    assert build(out, "--check-legibility", "--legibility-sample", "2", "--min-legibility", "97") == 0
    shares = read_json(out / "crossmath_build.json")["legibility"]["configs"]
    assert set(shares) == {"original", "noborder", "beige", "altstyle"}
    assert all(entry["images"] == 2 and entry["numbers"] > 15 and entry["share"] >= 97 for entry in shares.values())
    card = (out / "README.md").read_text()
    assert "## Legibility" in card and card.index("## Legibility") < card.index("## Licence")
    assert "legibility original:" in capsys.readouterr().out


def test_a_tiny_font_reads_far_lower_and_fails_the_minimum(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert build(out, "--styles", "original", "--vary", "font_size=6,24") == 0
    assert crossmath_main(["legibility", str(out), "--sample", "2", "--min-legibility", "95"]) == 1
    assert "below 95%: original-font_size-6" in capsys.readouterr().err
    shares = read_json(out / "crossmath_build.json")["legibility"]["configs"]
    assert shares["original-font_size-6"]["share"] < 50 and shares["original-font_size-24"]["share"] >= 95
    again = check_dataset(out, sample=1)  # a second check replaces the first, in the manifest and the card
    assert read_json(out / "crossmath_build.json")["legibility"]["sample"] == 1 and len(again) == 2
    assert (out / "README.md").read_text().count("## Legibility") == 1


def test_a_missing_engine_or_folder_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(LegibilityError, match="not a finished crossmath build"):
        check_dataset(tmp_path)
    (tmp_path / "crossmath_build.json").write_text("{}")
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    with pytest.raises(LegibilityError, match="apt-get install tesseract-ocr"):
        check_dataset(tmp_path)
