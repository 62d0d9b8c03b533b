"""The run every prepare test reads: two real test media through stage 1 and the facemesh head filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..pipeline.helpers import run_cli

SOURCES = ("positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4", "positives/retalking__face1.mp4")


@pytest.fixture(scope="package")
def run(testmedia: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("prepare")
    inputs = base / "in"
    inputs.mkdir()
    for name in SOURCES:
        (inputs / Path(name).name).symlink_to(testmedia / name)
    out = base / "run"
    proc = run_cli(
        "--input",
        str(inputs),
        "--output",
        str(out),
        "--stages",
        "segment,head",
        "--export",
        "spans",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out
