"""NVDEC on a real GPU against the CPU decoder, frame by frame (skips without a GPU and PyNvVideoCodec)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = [
    pytest.mark.nvdec,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(importlib.util.find_spec("PyNvVideoCodec") is None, reason="needs PyNvVideoCodec"),
]

CLIPS = [
    "positives/sadtalker__WDA_KatieHill_000.mp4",
    "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4",
    "multishot/pyscenedetect__issue-134-rotate.mp4",
    "positives/liveportrait__d13.mp4",
    "negatives/dover__1724.mp4",  # the container starts at 33 ms: times must still match
]


@pytest.mark.parametrize("name", CLIPS)
def test_nvdec_frames_match_cpu_decode(testmedia: Path, name: str) -> None:
    from talkvid_fast.decode import PyAVDecoder
    from talkvid_fast.decode._nvdec import NvdecDecoder
    from talkvid_fast.segment import small_size

    path = str(testmedia / name)
    cpu = PyAVDecoder(path)
    scan = cpu.scan(None, lambda i, n, im: None)
    gpu = NvdecDecoder(path, "cuda")
    gscan = gpu.scan(small_size(gpu.metadata.coded_width, gpu.metadata.coded_height), lambda i, n, im: None)
    np.testing.assert_array_equal(gscan.pts, scan.pts)
    np.testing.assert_allclose(gscan.times, scan.times, atol=1e-9)
    every = np.arange(0, len(scan.pts), 7)
    want = dict(PyAVDecoder(path).frames(every, scan.pts))
    worst = 0.0
    for i, frame in gpu.frames(every, scan.pts):
        assert frame.is_cuda
        diff = (frame.cpu().int() - want[i].int()).abs()
        worst = max(worst, float(diff.float().mean()))
        assert float(diff.float().median()) <= 1 and float(diff.float().quantile(0.99)) <= 4
    print(f"{name}: worst mean |NVDEC - CPU| = {worst:.3f} levels")
