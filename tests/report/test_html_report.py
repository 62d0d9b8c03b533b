"""report.html of a real run: written at the end of the run and on demand, self-contained, and rendered by a
real browser with its figures (threshold lines included) and text."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from talkvid_fast.htmlreport import frame_at
from talkvid_fast.report import main as report_main
from tests.conftest import decode_rgb

from .conftest import keep_screenshot


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_written_at_the_end_of_the_run_and_self_contained(small_run: Path) -> None:
    html = (small_run / "report.html").read_text()
    # nothing is fetched from elsewhere: every image is inline, no script, no link to a CDN
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<script" not in html
    assert html.count('src="data:image/') >= 5
    assert (small_run / "report_files" / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (small_run / "report_files" / "hist_head_avg_orientation.png").is_file()
    for needle in (
        "profile <b>paper</b>",
        "liveportrait__d18-scene1",
        "sadtalker__WDA_AlexandriaOcasioCortez_000",
    ):
        assert needle in html


def test_on_demand_rewrites_it(small_run: Path, tmp_path: Path) -> None:
    (small_run / "report.html").unlink()
    assert report_main(["--run", str(small_run)]) == 0
    assert (small_run / "report.html").stat().st_size > 10_000
    assert report_main(["--run", str(tmp_path)]) == 2  # not an output folder: a clear error


def test_thumbnail_frame_is_the_decoded_frame_in_display_orientation(testmedia: Path) -> None:
    path = testmedia / "positives" / "retalking__face2.mp4"  # 25 fps CFR
    image, t = frame_at(path, 2.5, earliest=1.0)
    assert 1.0 <= t <= 2.5
    reference = decode_rgb(path)[round(t * 25)]
    assert image.shape == reference.shape and np.abs(image.astype(int) - reference).max() == 0
    rotated, _ = frame_at(testmedia / "multishot" / "pyscenedetect__issue-134-rotate.mp4", 5.0)
    assert rotated.shape[:2] == (1280, 544)  # coded 1280x544, displayed rotated by 90 degrees


def test_renders_in_chromium_with_figures_and_text(small_run: Path, browser: Any) -> None:
    browser.set_window_size(1280, 900)
    browser.get((small_run / "report.html").as_uri())
    text = browser.find_element("tag name", "body").text
    for heading in (
        "Attrition funnel",
        "Score distributions",
        "Examples per gate",
        "Failures by reason",
        "Speed",
        "Profile",
    ):
        assert heading in text
    assert "liveportrait__d18-scene1" in text and "speech fraction 0.00" in text
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
    )
    assert broken == 0
    funnel = browser.find_element("css selector", "img[alt='attrition funnel']")
    px = _pixels(funnel.screenshot_as_png)
    blue = np.all(np.abs(px - [59, 110, 165]) < 25, axis=-1)  # the bars of the gates that ran
    assert blue.mean() > 0.02, "the funnel has no bars"
    hist = browser.find_element("css selector", "img[alt='histogram of head.avg_orientation']")
    hpx = _pixels(hist.screenshot_as_png)
    red = (hpx[..., 0] - hpx[..., 1] > 60) & (hpx[..., 0] - hpx[..., 2] > 60)  # the dashed line, antialiased
    assert red.sum(axis=0).max() > 0.25 * red.shape[0], "no dashed threshold line across the plot"
    assert (np.abs(hpx - [59, 110, 165]).max(axis=-1) < 25).sum() > 50, "no histogram bars"
    browser.set_window_size(1280, 2400)
    browser.execute_script("window.scrollTo(0, 0)")
    keep_screenshot(browser.get_screenshot_as_png(), "report.png")


def test_page_fits_a_laptop_screen(small_run: Path, browser: Any) -> None:
    browser.set_window_size(1280, 800)
    browser.get((small_run / "report.html").as_uri())
    width = browser.execute_script("return window.innerWidth")
    scroll = browser.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, "the page scrolls sideways on a laptop screen"
