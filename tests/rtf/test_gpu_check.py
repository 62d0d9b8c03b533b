"""bench/gpu_check.sh --dry-run: the CPU side of the one-call device check runs, writes its outputs, selects the
GPU tests and keeps what travels under the device tool's 64 MiB (docs/benchmarks.md, section 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIMIT = 64 * 1024 * 1024  # the device tool's working-tree limit


def _dry_run(out: Path, light: bool, nvdec: bool = False) -> dict:
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "GPU_CHECK_LIGHT": "1" if light else "0"}
    env["GPU_CHECK_NVDEC"] = "1" if nvdec else "0"
    r = subprocess.run(
        ["bash", "bench/gpu_check.sh", "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((out / "gpu_check.json").read_text())
    assert summary["mode"] == "dry" and summary["budget"]["limit_bytes"] == LIMIT
    assert summary["budget"]["total_bytes"] <= LIMIT
    assert all(s["rc"] in (0, None) for s in summary["steps"]), summary["steps"]
    collected = summary["gpu_tests"].split("/")[0]
    assert collected.isdigit() and int(collected) >= 20, summary["gpu_tests"]  # the CUDA/NVDEC selection
    for name in ("gpu_check.md", "gpu_check.log", "gpu_tests.xml"):
        assert (out / name).stat().st_size > 0, name
    return summary


def test_dry_run_light(tmp_path: Path) -> None:
    """No wheels, source or corpus made: the selection of GPU tests, the outputs, the tree's budget."""
    _dry_run(tmp_path, light=True)
    assert len(list(tmp_path.iterdir())) <= 8  # the device tool brings 8 files back


@pytest.mark.slow
def test_dry_run_full_fits_with_its_wheels(tmp_path: Path) -> None:
    """--prepare's whole payload (PyPI wheels, media, weights, 1080p source, tiny corpus) within 64 MiB, and
    the component measurements and the throughput prediction on the CPU."""
    summary = _dry_run(tmp_path, light=False)
    assert any(w.startswith("av-") for w in summary["wheels"]), "the av wheel must travel"
    comps = json.loads((tmp_path / "components_cpu.json").read_text())
    assert comps["prediction"]["bound"] and comps["prediction"]["rtf_overlapped"] > 0
    assert len(list(tmp_path.iterdir())) <= 8


def _nvdec_compared(out: Path) -> dict:
    """The NVDEC variant's check (stand-in PyNvVideoCodec): every frame of every source equal to FFmpeg's."""
    result = json.loads((out / "nvdec_check.json").read_text())
    sources = result["sources"]
    assert len(sources) >= 5 and all(r.get("equal") for r in sources.values()), sources
    return sources


def test_dry_run_nvdec_light(tmp_path: Path) -> None:
    """GPU_CHECK_NVDEC=1 (Note [NVDEC reference]): FFmpeg's planes as hashes (30 frames a source here), and the
    device side's check run against them with the stand-in decoder; what travels stays under the budget."""
    summary = _dry_run(tmp_path, light=True, nvdec=True)
    assert summary["nvdec"] == 1 and any(
        s["step"] == "nvdec-check" and s["rc"] == 0 for s in summary["steps"]
    )
    assert all(r["frames"] == 30 for r in _nvdec_compared(tmp_path).values())
    assert len(list(tmp_path.iterdir())) <= 8


@pytest.mark.slow
def test_dry_run_nvdec_full_fits_with_pynvvideocodec(tmp_path: Path) -> None:
    """The NVDEC variant's whole payload (PyNvVideoCodec's wheel, not av's; media; the 1080p source; the
    reference of every frame) within 64 MiB."""
    summary = _dry_run(tmp_path, light=False, nvdec=True)
    assert any(w.lower().startswith("pynvvideocodec-") for w in summary["wheels"]), summary["wheels"]
    assert not any(w.startswith("av-") for w in summary["wheels"]), "av must not travel in this variant"
    sources = _nvdec_compared(tmp_path)
    assert "gpu_1080p.mp4" in sources and sources["gpu_1080p.mp4"]["frames"] == 200
