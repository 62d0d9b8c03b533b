"""The YUV->RGB+resize op: C++ twin (and CUDA kernel where a GPU exists) against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.native import build_info, yuv420_to_rgb
from talkvid_fast.reference.color import yuv420_to_rgb as reference
from tests.conftest import DEVICES

CASES = [
    # (H, W, out_h, out_w)
    (64, 96, 64, 96),  # same size: conversion only
    (37, 53, 37, 53),  # odd sizes: chroma planes of ceil(H/2) x ceil(W/2)
    (120, 160, 45, 77),  # downscale, non-integer factors
    (30, 40, 97, 131),  # upscale
    (1, 7, 3, 2),  # degenerate rows
]


def _planes(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return (
        rng.integers(0, 256, (h, w), dtype=np.uint8),
        rng.integers(0, 256, (ch, cw), dtype=np.uint8),
        rng.integers(0, 256, (ch, cw), dtype=np.uint8),
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("h", "w", "oh", "ow"), CASES)
@pytest.mark.parametrize(("matrix", "full_range"), [(601, False), (709, False), (709, True)])
def test_nv12_and_i420_match_reference(
    device: str, h: int, w: int, oh: int, ow: int, matrix: int, full_range: bool
) -> None:
    y, u, v = _planes(h, w, seed=h * 1000 + w)
    want = reference(y, u, v, (oh, ow), matrix, full_range)
    t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
    nv12 = yuv420_to_rgb(
        t(y), uv=t(np.stack([u, v], axis=-1)), size=(oh, ow), matrix=matrix, full_range=full_range
    )
    i420 = yuv420_to_rgb(t(y), u=t(u), v=t(v), size=(oh, ow), matrix=matrix, full_range=full_range)
    for got in (nv12, i420):
        assert got.shape == (oh, ow, 3) and got.device.type == device
        diff = np.abs(got.cpu().numpy().astype(int) - want.astype(int))
        # float32 (twin) vs float64 (reference): only rounding ties may differ, by one level
        assert diff.max() <= 1
        assert (diff > 0).mean() < 0.01


def test_reference_converts_known_colours() -> None:
    # BT.709 limited range: Y=16 is black, Y=235 white, (81, 90, 240) is close to pure red.
    y = np.array([[16, 235], [81, 81]], dtype=np.uint8)
    u = np.array([[128]], dtype=np.uint8)
    v = np.array([[128]], dtype=np.uint8)
    rgb = reference(y, u, v, (2, 2), 709, False)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 1].tolist() == [255, 255, 255]
    red = reference(
        np.full((2, 2), 63, np.uint8),
        np.full((1, 1), 102, np.uint8),
        np.full((1, 1), 240, np.uint8),
        (1, 1),
        709,
        False,
    )
    assert red[0, 0, 0] > 250 and red[0, 0, 1] < 5 and red[0, 0, 2] < 5


def test_matches_ffmpeg_conversion_of_a_real_frame(testmedia) -> None:
    """The twin agrees with FFmpeg's own yuv420p->rgb24 on a decoded frame (different rounding: small error)."""
    import av

    path = testmedia / "positives" / "sadtalker__WDA_KatieHill_000.mp4"
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        planes = frame.to_ndarray(format="yuv420p")
        rgb_ffmpeg = frame.to_ndarray(format="rgb24")
    h, w = frame.height, frame.width
    y = planes[:h]
    u = planes[h : h + h // 4].reshape(h // 2, w // 2)
    v = planes[h + h // 4 :].reshape(h // 2, w // 2)
    matrix = 709 if frame.colorspace == 1 else 601  # FFmpeg's default for unspecified SD is BT.601
    got = yuv420_to_rgb(
        torch.from_numpy(y.copy()), u=torch.from_numpy(u.copy()), v=torch.from_numpy(v.copy()), matrix=matrix
    )
    err = np.abs(got.numpy().astype(int) - rgb_ffmpeg.astype(int))
    assert np.median(err) <= 1 and np.percentile(err, 99) <= 4


def test_bad_arguments_say_what_is_wrong() -> None:
    y = torch.zeros((8, 8), dtype=torch.uint8)
    with pytest.raises(ValueError, match="chroma plane must be"):
        yuv420_to_rgb(y, u=torch.zeros((3, 4), dtype=torch.uint8), v=torch.zeros((4, 4), dtype=torch.uint8))
    with pytest.raises(ValueError, match="wrong dtype"):
        yuv420_to_rgb(
            y.float(), u=torch.zeros((4, 4), dtype=torch.uint8), v=torch.zeros((4, 4), dtype=torch.uint8)
        )
    with pytest.raises(ValueError, match="matrix must be 601 or 709"):
        yuv420_to_rgb(
            y, u=torch.zeros((4, 4), dtype=torch.uint8), v=torch.zeros((4, 4), dtype=torch.uint8), matrix=2020
        )
    with pytest.raises(ValueError, match="contiguous"):
        yuv420_to_rgb(
            torch.zeros((8, 16), dtype=torch.uint8)[:, ::2],
            u=torch.zeros((4, 4), dtype=torch.uint8),
            v=torch.zeros((4, 4), dtype=torch.uint8),
        )


def test_numpy_arrays_are_accepted_through_dlpack() -> None:
    from talkvid_fast.native import native

    y, u, v = _planes(10, 12, seed=3)
    out = np.zeros((10, 12, 3), np.uint8)
    native().i420_to_rgb(y, u, v, out, 601, False, 0)
    assert np.abs(out.astype(int) - reference(y, u, v, (10, 12), 601, False).astype(int)).max() <= 1


def test_build_reports_cuda_kernels_when_the_toolkit_was_found() -> None:
    import shutil

    info = build_info()
    assert set(info) >= {"cuda", "cuda_version", "cuda_architectures", "compiler"}
    if shutil.which("nvcc"):
        # CI has the CUDA toolkit: the kernels must have been compiled in, even though no GPU runs them here.
        assert info["cuda"] is True and info["cuda_version"]
