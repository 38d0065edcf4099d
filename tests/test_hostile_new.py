"""Regressions found by the hostile probe of plans, streams and the curriculum."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from crossmath.dataset.curriculum import Curriculum
from crossmath.errors import SettingsError
from crossmath.eval.cells import model_cells


@pytest.mark.parametrize("threshold, lower", [(math.nan, None), (2.0, None), (math.inf, None), (0.8, math.nan),
                                              (0.8, -0.5)])
def test_curriculum_refuses_rewards_outside_zero_one(threshold: float, lower: float | None) -> None:
    with pytest.raises(SettingsError, match="between 0 and 1"):
        Curriculum(2, threshold, 4, lower=lower)


def test_a_style_or_modality_named_twice_is_one_run(tmp_path: Path) -> None:
    args = argparse.Namespace(prompt_file=None, modality=["text", "text", "image"], style=["original", "original"],
                              dataset=str(tmp_path), output=str(tmp_path / "out"), name="m", model="m", adapter=None)
    cells = model_cells(args)
    assert [(c.style, c.modality) for c in cells] == [("original", "text"), ("original", "image")]
    assert len({c.path for c in cells}) == len(cells)
