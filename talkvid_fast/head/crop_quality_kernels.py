"""Face-crop quality metrics, fast: one scalar source compiled by Numba for the CPU and for CUDA.

Note [Crop quality kernels]: `_crop_core` computes the five crop metrics of one uint8 luma crop and
`_block_core` the blockiness of one face box on its frame, exactly as crop_quality.py defines them:
integer Laplacian / second differences summed in float64 (exact for integers below 2^53), a 256-bin
histogram for the percentiles (the same "inverted CDF" rank), and the same luma integer formula. Each is
plain scalar Python compiled twice (crop_quality_jit.py): `numba.njit` with a loop over crops on the CPU,
and `numba.cuda.jit(device=True)` with one thread per crop on the GPU (a head batch holds at most a few
hundred faces at 1 fps, and a thread per crop keeps the reference's order of summation, so the results
are bit-equal). The CUDA path reads torch CUDA tensors in place through `__cuda_array_interface__`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

NCROP = 5  #: sharpness, luma_p05, luma_p50, luma_p95, noise


def _crop_core(crops, c, hist, out):
    h = crops.shape[1]
    w = crops.shape[2]
    for v in range(256):
        hist[v] = 0
    for y in range(h):
        for x in range(w):
            hist[crops[c, y, x]] += 1
    s1 = 0.0
    s2 = 0.0
    s_abs = 0.0
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            cc = np.int64(crops[c, y, x])
            lap = (
                np.int64(crops[c, y - 1, x])
                + np.int64(crops[c, y + 1, x])
                + np.int64(crops[c, y, x - 1])
                + np.int64(crops[c, y, x + 1])
                - 4 * cc
            )
            s1 += lap
            s2 += lap * lap
            m = np.int64(0)
            for dy in range(-1, 2):
                wy = -2 if dy == 0 else 1
                for dx in range(-1, 2):
                    wx = -2 if dx == 0 else 1
                    m += wy * wx * np.int64(crops[c, y + dy, x + dx])
            s_abs += abs(m)
    k = (h - 2) * (w - 2)
    mean = s1 / k
    out[c, 0] = s2 / k - mean * mean
    n = h * w
    for j in range(3):
        q = 0.05 if j == 0 else (0.5 if j == 1 else 0.95)
        qn = q * n
        rank = int(qn)  # ceil(q n), at least 1, written out: math.ceil does not compile for CUDA here
        if rank < qn:
            rank += 1
        if rank < 1:
            rank = 1
        acc = 0
        for v in range(256):
            acc += hist[v]
            if acc >= rank:
                out[c, 1 + j] = v
                break
    out[c, 4] = math.sqrt(math.pi / 2) * s_abs / (6.0 * k)


def _block_core(frames, f, x0, y0, x1, y1):
    # luma (77 R + 150 G + 29 B + 128) >> 8, written out (a helper function would not compile twice)
    se = 0.0
    ne = 0
    si = 0.0
    ni = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            v = (
                77 * np.int64(frames[f, y, x, 0]) + 150 * np.int64(frames[f, y, x, 1])
                + 29 * np.int64(frames[f, y, x, 2]) + 128
            ) >> 8  # fmt: skip
            if x > x0:
                u = (
                    77 * np.int64(frames[f, y, x - 1, 0]) + 150 * np.int64(frames[f, y, x - 1, 1])
                    + 29 * np.int64(frames[f, y, x - 1, 2]) + 128
                ) >> 8  # fmt: skip
                d = abs(v - u)
                if x % 8 == 0:
                    se += d
                    ne += 1
                else:
                    si += d
                    ni += 1
            if y > y0:
                u = (
                    77 * np.int64(frames[f, y - 1, x, 0]) + 150 * np.int64(frames[f, y - 1, x, 1])
                    + 29 * np.int64(frames[f, y - 1, x, 2]) + 128
                ) >> 8  # fmt: skip
                d = abs(v - u)
                if y % 8 == 0:
                    se += d
                    ne += 1
                else:
                    si += d
                    ni += 1
    me = se / ne if ne > 0 else 0.0
    mi = si / ni if ni > 0 else 0.0
    return (me + 1.0) / (mi + 1.0)


def _bounds(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    from .crop_quality import box_bounds

    return np.array(
        [box_bounds(b, height, width) for b in np.asarray(boxes, np.float64).reshape(-1, 4)], np.int64
    )


def crop_metrics_cpu(crops: np.ndarray) -> np.ndarray:
    """float64 (M, 5) metrics of uint8 (M, S, S) luma crops with the Numba CPU kernel."""
    from .crop_quality_jit import crops_cpu

    crops = np.ascontiguousarray(crops, dtype=np.uint8)
    out = np.zeros((len(crops), NCROP), np.float64)
    if len(crops):
        crops_cpu(crops, out)
    return out


def blockiness_cpu(frames: np.ndarray, index: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """float64 (M,) blockiness of face boxes (M, 4) on uint8 (N, H, W, 3) frames, Numba CPU."""
    from .crop_quality_jit import block_cpu

    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    bounds = _bounds(boxes, frames.shape[1], frames.shape[2])
    out = np.zeros(len(bounds), np.float64)
    if len(bounds):
        block_cpu(frames, np.asarray(index, np.int64), bounds, out)
    return out


def _device(x: Any) -> Any:
    from numba import cuda

    if hasattr(x, "__cuda_array_interface__"):
        return cuda.as_cuda_array(x)
    return cuda.to_device(np.ascontiguousarray(x))


def crop_metrics_cuda(crops: Any) -> np.ndarray:
    """float64 (M, 5) with the CUDA kernel; `crops` a torch CUDA tensor (read in place) or a host array."""
    from numba import cuda

    from .crop_quality_jit import crops_cuda

    m = int(crops.shape[0])
    out = np.zeros((m, NCROP), np.float64)
    if m == 0:
        return out
    d_out = cuda.to_device(out)
    threads = 32
    crops_cuda()[(m + threads - 1) // threads, threads](_device(crops), d_out)
    return d_out.copy_to_host()


def blockiness_cuda(frames: Any, index: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """float64 (M,) blockiness with the CUDA kernel; `frames` a torch CUDA tensor or a host array."""
    from numba import cuda

    from .crop_quality_jit import block_cuda

    bounds = _bounds(boxes, int(frames.shape[1]), int(frames.shape[2]))
    out = np.zeros(len(bounds), np.float64)
    if len(bounds) == 0:
        return out
    d_out = cuda.to_device(out)
    threads = 32
    block_cuda()[(len(bounds) + threads - 1) // threads, threads](
        _device(frames), cuda.to_device(np.asarray(index, np.int64)), cuda.to_device(bounds), d_out
    )
    return d_out.copy_to_host()
