"""Shared fixtures: the real test media in ../shared/testmedia, and device parametrisation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
TESTMEDIA = Path(os.environ.get("TALKVID_TESTMEDIA", REPO.parent / "shared" / "testmedia"))

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")),
]


@pytest.fixture(scope="session")
def testmedia() -> Path:
    """The folder of real third-party clips; tests that need it skip when it is absent."""
    if not (TESTMEDIA / "manifest.json").is_file():
        pytest.skip(f"test media not found at {TESTMEDIA} (set TALKVID_TESTMEDIA)")
    return TESTMEDIA


def decode_rgb(path: Path, max_frames: int | None = None, step: int = 1) -> np.ndarray:
    """Plain PyAV decode to (N, H, W, 3) uint8 RGB, for tests that need real frames."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if max_frames is not None and len(frames) >= max_frames:
                break
            if i % step == 0:
                frames.append(frame.to_ndarray(format="rgb24"))
    return np.stack(frames)
