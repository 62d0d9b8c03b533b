"""The native fragment gather (C++ CPU twin; CUDA kernel where a GPU is present) against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.native import native
from talkvid_fast.quality.reference import fragments_ref
from tests.conftest import DEVICES


def _case(
    seed: int, clips: int = 2, length: int = 4, h: int = 150, w: int = 170, grid: int = 3, patch: int = 16
):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (clips * length, h, w, 3), dtype=np.uint8)
    top = rng.integers(0, h - patch + 1, (clips, grid, grid)).astype(np.int32)
    left = rng.integers(0, w - patch + 1, (clips, grid, grid)).astype(np.int32)
    return frames, top, left


@pytest.mark.parametrize("device", DEVICES)
def test_gather_equals_reference(device: str) -> None:
    frames, top, left = _case(0)
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    out = torch.empty((2, 3, 4, 48, 48), dtype=torch.float32, device=device)
    stream = torch.cuda.current_stream().cuda_stream if device == "cuda" else 0
    native().fragment_gather(
        torch.from_numpy(frames).to(device),
        torch.from_numpy(top).to(device),
        torch.from_numpy(left).to(device),
        out,
        mean,
        std,
        16,
        stream,
    )
    want = fragments_ref(frames, top, left, 16, mean, std)
    assert np.array_equal(out.cpu().numpy(), want)


def test_gather_raw_values_and_edges() -> None:
    frames, top, left = _case(1, h=64, w=48, grid=2, patch=32)
    top[:] = 32  # last valid row origin
    left[0, 0, 0] = 16
    out = torch.empty((2, 3, 4, 64, 64), dtype=torch.float32)
    native().fragment_gather(
        torch.from_numpy(frames), torch.from_numpy(top), torch.from_numpy(left), out, patch=32
    )
    assert np.array_equal(out.numpy(), fragments_ref(frames, top, left, 32))


def test_gather_accepts_strided_frames() -> None:
    frames, top, left = _case(2)
    big = torch.from_numpy(np.random.default_rng(9).integers(0, 256, (8, 200, 170, 3), dtype=np.uint8))
    big[:, 20:170] = torch.from_numpy(frames)
    view = big[:, 20:170]  # frame and row strides of the parent, pixels compact
    assert not view.is_contiguous()
    out = torch.empty((2, 3, 4, 48, 48), dtype=torch.float32)
    native().fragment_gather(view, torch.from_numpy(top), torch.from_numpy(left), out, patch=16)
    assert np.array_equal(out.numpy(), fragments_ref(frames, top, left, 16))


def test_gather_rejects_bad_arguments() -> None:
    frames, top, left = _case(3)
    f, t, lft = torch.from_numpy(frames), torch.from_numpy(top), torch.from_numpy(left)
    out = torch.empty((2, 3, 4, 48, 48), dtype=torch.float32)
    bad = t.clone()
    bad[1, 2, 2] = 150 - 15  # patch would leave the frame
    with pytest.raises(ValueError, match="leaves the"):
        native().fragment_gather(f, bad, lft, out, patch=16)
    with pytest.raises(ValueError, match="out must be"):
        native().fragment_gather(f, t, lft, torch.empty((2, 3, 4, 40, 48)), patch=16)
    with pytest.raises(ValueError, match="frames must hold"):
        native().fragment_gather(f[:7], t, lft, out, patch=16)
    with pytest.raises(ValueError, match="wrong dtype"):
        native().fragment_gather(f, t.long(), lft, out, patch=16)
