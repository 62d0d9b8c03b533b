"""Stage 1's per-frame feature, as plain NumPy (reference of kernels/scan_histogram.cuh).

scenedetect 0.6.4's HistogramDetector.calculate_histogram on the frame its SceneManager passes (Note [Scene
parity]): the frame downscaled by the integer factor `width // 256`, converted BGR -> YUV by cv2 (8-bit fixed
point), the Y channel counted into 256 bins over [0, 256) (cv2.calcHist) and L2-normalised (cv2.normalize's
default NORM_L2, float32). The downscaled RGB frame here is our YUV -> RGB + bilinear resize
(talkvid_fast/reference/color.py), which can differ from swscale + cv2.resize by a level on some pixels.
"""

from __future__ import annotations

import numpy as np

from .color import yuv420_to_rgb

BINS = 256


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """uint8 (..., 3) RGB -> uint8 (...) Y as cv2.cvtColor(COLOR_BGR2YUV) computes it for 8-bit images:
    (4899 R + 9617 G + 1868 B + 2^13) >> 14 (0.299, 0.587, 0.114 in 14-bit fixed point, rounded)."""
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    return ((4899 * r + 9617 * g + 1868 * b + (1 << 13)) >> 14).astype(np.uint8)


def luma_counts(luma: np.ndarray) -> np.ndarray:
    """int64 (256,): how many pixels have each Y value (cv2.calcHist, 256 bins over [0, 256))."""
    return np.bincount(luma.ravel(), minlength=BINS).astype(np.int64)


def normalize(counts: np.ndarray) -> np.ndarray:
    """float32 (256,): counts / their L2 norm (cv2.normalize(hist, hist) with its default NORM_L2)."""
    norm = float(np.sqrt(np.sum(counts.astype(np.float64) ** 2)))
    return counts.astype(np.float32) * np.float32(1.0 / norm if norm else 0.0)


def scan_histogram(
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    small: tuple[int, int],
    matrix: int = 601,
    full_range: bool = False,
) -> np.ndarray:
    """y: uint8 (H, W); u, v: uint8 (ceil(H/2), ceil(W/2)); small: (h, w) of the detector's frame.
    Returns the int64 (256,) luma counts of the downscaled frame (normalize() gives the detector's feature)."""
    return luma_counts(luma_u8(yuv420_to_rgb(y, u, v, small, matrix, full_range)))
