"""The HTML report in a real headless Chromium: no console errors, every image loads, the figures are not blank,
the filters work, and the gallery shows highlighted cells (its screenshot is kept under the test's tmp_path)."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image
from test_report import _gallery_runs

from crossmath.report.html import ALL_WRONG, MIXED, ONLY_WRONG_IN
from crossmath.report.report import gap_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs the Debian packages chromium and chromium-driver (see .ci/run)")


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    assert CHROMIUM is not None
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,900",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _colours_near(image: Image.Image, colour: str, tolerance: int = 6) -> int:
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(pixels - target).max(axis=2) <= tolerance).sum())


def test_report_page_in_headless_chromium(browser, eval_dataset, tmp_path):
    runs, items = _gallery_runs(eval_dataset, tmp_path)
    page = tmp_path / "page" / "report.html"
    gap_report(runs, out=tmp_path / "out", html=page)
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    images = browser.execute_script(
        "return Array.from(document.images, i => [i.className, i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 3 + 2 * 3  # figures, and each of three gallery entries' two pictures
    assert all(complete and width > 0 and height > 0 for _, complete, width, height in images), images
    for figure in browser.find_elements("css selector", "img.figure"):
        shot = Image.open(io.BytesIO(figure.screenshot_as_png)).convert("L")
        grey = np.asarray(shot)  # drawn, not a blank rectangle:
        assert int(grey.max()) - int(grey.min()) > 100 and len(shot.getcolors(1 << 16) or []) > 10

    gallery = browser.find_element("id", "gallery")
    browser.execute_script("arguments[0].scrollIntoView()", gallery)
    first = browser.find_elements("css selector", "article.entry")[0]
    shot_bytes = first.screenshot_as_png
    (tmp_path / "gallery-entry.png").write_bytes(shot_bytes)  # the test artefact: highlighted cells to look at
    shot = Image.open(io.BytesIO(shot_bytes))
    assert _colours_near(shot, MIXED) > 100  # the first puzzle's first blank: wrong in image and hybrid
    second = browser.find_elements("css selector", "article.entry img.solved")[1]
    assert _colours_near(Image.open(io.BytesIO(second.screenshot_as_png)), ONLY_WRONG_IN["image"]) > 100
    assert ALL_WRONG not in (MIXED, ONLY_WRONG_IN["image"])

    from selenium.webdriver.support.ui import Select

    shown = browser.find_element("id", "shown")
    assert shown.text == "3"
    only = items[3].difficulty
    Select(browser.find_element("css selector", "select[data-filter=difficulty]")).select_by_value(only)
    expected = sum(1 for k in (0, 1, 3) if items[k].difficulty == only)
    assert shown.text == str(expected)
    visible = [e for e in browser.find_elements("css selector", "article.entry") if e.is_displayed()]
    assert len(visible) == expected
