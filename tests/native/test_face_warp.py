"""The native face-crop warp (C++ twin; CUDA kernel where a GPU exists) against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.head.crop import BORDER_REPLICATE, BORDER_ZERO, Roi, letterbox_roi, warp, warp_reference
from talkvid_fast.native import native
from tests.conftest import DEVICES


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("border", [BORDER_ZERO, BORDER_REPLICATE])
def test_native_warp_matches_reference(device: str, border: int) -> None:
    rng = np.random.default_rng(7)
    imgs = rng.integers(0, 256, (3, 41, 67, 3), dtype=np.uint8)
    rois = [
        Roi(20.0, 15.0, 40.0, 0.3),
        Roi(60.0, 35.0, 30.0, -1.2),
        Roi(33.5, 20.5, 67.0, 0.0),
        letterbox_roi(41, 67),
        Roi(0.0, 0.0, 90.0, 2.0),
    ]  # the last one is mostly outside the frame
    out = 32
    mats = np.stack([r.matrix(out) for r in rois]).astype(np.float32)
    idx = np.array([0, 2, 1, 1, 0])
    want = warp_reference(imgs, idx, mats, out, out, 2 / 255, -1, border)
    t = torch.from_numpy
    got = warp(t(imgs).to(device), t(idx).to(device), t(mats).to(device), out, out, 2 / 255, -1, border)
    assert got.device.type == device and got.shape == (5, out, out, 3)
    assert np.abs(got.cpu().numpy() - want).max() < 1e-4


def test_native_warp_rejects_bad_arguments() -> None:
    imgs = torch.zeros((1, 8, 8, 3), dtype=torch.uint8)
    out = torch.empty((1, 4, 4, 3), dtype=torch.float32)
    mats = torch.zeros((1, 2, 3), dtype=torch.float32)
    op = native().face_warp
    with pytest.raises(ValueError, match="border must be"):
        op(imgs, torch.zeros(1, dtype=torch.int64), mats, out, 1.0, 0.0, 2, 0)
    with pytest.raises(ValueError, match="index out of range"):
        op(imgs, torch.tensor([3]), mats, out, 1.0, 0.0, 0, 0)
    with pytest.raises(ValueError, match=r"mats must be \(M, 2, 3\)"):
        op(imgs, torch.zeros(1, dtype=torch.int64), torch.zeros((1, 3, 3)), out, 1.0, 0.0, 0, 0)
