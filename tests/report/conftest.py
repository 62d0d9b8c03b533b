"""A small real run over shared test media (stage 1 and the head stage), and a headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.helpers import run_cli

#: kept by stage 1 and labelled keep (AOC, face1); silent audio (d18); shorter than 5 s (d0)
SMALL_RUN_MEDIA = (
    "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4",
    "positives/retalking__face1.mp4",
    "positives/liveportrait__d18.mp4",
    "positives/liveportrait__d0.mp4",
)
CHROMIUM = os.environ.get("TALKVID_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TALKVID_CHROMEDRIVER", "/usr/bin/chromedriver")
#: set to a folder (e.g. docs/img) to keep the browser tests' screenshots
SCREENSHOTS = os.environ.get("TALKVID_SCREENSHOTS")


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory, testmedia: Path) -> Path:
    """OUT of `run --stages segment,head` over four shared clips (about 20 s of CPU)."""
    folder = tmp_path_factory.mktemp("small_run")
    manifest = folder / "inputs.json"
    manifest.write_text(json.dumps([{"video-path": str(testmedia / m)} for m in SMALL_RUN_MEDIA]))
    out = folder / "out"
    result = run_cli("--input", str(manifest), "--output", str(out), "--stages", "segment,head")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by selenium; skips (with the reason) where either is absent."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip(
            f"no browser: {CHROMIUM} / {CHROMEDRIVER} missing (Debian: apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def keep_screenshot(png: bytes, name: str, width: int = 800) -> None:
    """Saves a downscaled copy under $TALKVID_SCREENSHOTS (the docs' images), when set."""
    if not SCREENSHOTS:
        return
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)))
    Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
    im.quantize(colors=96).save(Path(SCREENSHOTS) / name, optimize=True)  # small files for the docs
