"""Fixtures of the head tests: the facemesh weight files (skip when not fetched) and real frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import decode_rgb


@pytest.fixture(scope="session")
def facemesh_dir() -> Path:
    from talkvid_fast.head.weights import FACEMESH
    from talkvid_fast.weights import WeightsMissing, locate

    try:
        paths = [locate(FACEMESH, f.name) for f in FACEMESH.files]
    except WeightsMissing as exc:
        pytest.skip(f"facemesh weights not fetched: {exc}")
    return paths[0].parent


CLIPS = (
    "positives/sadtalker__WDA_KatieHill_000.mp4",
    "positives/liveportrait__s32.mp4",
    "positives/liveportrait__d13.mp4",
    "negatives/liveportrait__s13.mp4",
)


@pytest.fixture(scope="session")
def real_frames(testmedia: Path) -> list[np.ndarray]:
    """Two frames of each of four clips: frontal square, 16:9 interview, 9:16 selfie, full-body dancer."""
    return [decode_rgb(testmedia / c, max_frames=2, step=40) for c in CLIPS]
