"""Regions of interest and the affine warp that cuts model inputs out of frames.

Note [Face warp]: both model inputs are affine warps of a frame. The detector sees the whole frame
letterboxed into a square (MediaPipe `keep_aspect_ratio`, zero border); the landmark model sees a
rotated square around the face (`FaceDetectionFrontDetectionToRoi`: the detection box, made square on
its long side, scaled by 1.5, rotated so that the eyes are level; replicated border). One op does both:
for output pixel (ox, oy) it samples the source at `A @ (ox, oy, 1)` (pixel-index coordinates, centres
at integers, like `cv2.warpAffine(..., WARP_INVERSE_MAP)`) bilinearly, then writes `value * scale + offset`
as float32. Border 0 = constant zero (outside neighbours read 0), 1 = replicate (indices clamped).
`warp_reference` is the NumPy definition; `warp` runs it in torch on any device, or the native op
`talkvid_fast._native.face_warp` (C++ twin / CUDA kernel, kernels/face_warp.cuh) when it is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

BORDER_ZERO = 0
BORDER_REPLICATE = 1


@dataclass(frozen=True)
class Roi:
    """A rotated square in frame pixels (continuous coordinates, the frame spans [0, W] x [0, H])."""

    cx: float
    cy: float
    side: float
    theta: float  #: radians; the crop's x axis points along (cos theta, sin theta) in the frame (y down)

    def matrix(self, out_size: int) -> np.ndarray:
        """(2, 3) float64 affine: output pixel index (ox, oy, 1) -> source pixel index coordinates."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        k = self.side / out_size
        # source_cont = centre + R @ ((o + 0.5) * k - side / 2); source index = source_cont - 0.5
        tx = self.cx - 0.5 + (c * (0.5 * k - self.side / 2) - s * (0.5 * k - self.side / 2))
        ty = self.cy - 0.5 + (s * (0.5 * k - self.side / 2) + c * (0.5 * k - self.side / 2))
        return np.array([[c * k, -s * k, tx], [s * k, c * k, ty]], np.float64)

    def to_frame(self, pts: np.ndarray, out_size: int) -> np.ndarray:
        """Maps points (..., 2+) given in crop pixels ([0, out_size] continuous) to frame pixels; z scales too."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        k = self.side / out_size
        u = pts[..., 0] * k - self.side / 2
        v = pts[..., 1] * k - self.side / 2
        out = np.array(pts, np.float64, copy=True)
        out[..., 0] = self.cx + c * u - s * v
        out[..., 1] = self.cy + s * u + c * v
        if pts.shape[-1] > 2:
            out[..., 2] = pts[..., 2] * k
        return out


def letterbox_roi(height: int, width: int) -> Roi:
    """The whole frame padded to a square (MediaPipe keep_aspect_ratio)."""
    return Roi(width / 2.0, height / 2.0, float(max(width, height)), 0.0)


def face_roi(det: np.ndarray, height: int, width: int, scale: float = 1.5) -> Roi:
    """ROI of the landmark model from a detection (16,) = box (xmin, ymin, xmax, ymax) + 6 kps, frame pixels."""
    cx, cy = (det[0] + det[2]) / 2.0, (det[1] + det[3]) / 2.0
    long_side = max(det[2] - det[0], det[3] - det[1])
    # keypoint 0 and 1 are the eyes (image-left first); rotation makes the eye line horizontal
    theta = math.atan2(det[7] - det[5], det[6] - det[4])
    theta = (theta + math.pi) % (2 * math.pi) - math.pi
    return Roi(float(cx), float(cy), float(long_side * scale), float(theta))


def warp_reference(
    images: np.ndarray,  # (N, H, W, 3) uint8
    index: np.ndarray,  # (M,) int: source image of each crop
    mats: np.ndarray,  # (M, 2, 3) float: output pixel -> source pixel
    out_h: int,
    out_w: int,
    scale: float,
    offset: float,
    border: int,
) -> np.ndarray:
    """(M, out_h, out_w, 3) float32: the definition of Note [Face warp], written for clarity."""
    _, h, w, _ = images.shape
    out = np.zeros((len(index), out_h, out_w, 3), np.float32)
    oy, ox = np.meshgrid(
        np.arange(out_h, dtype=np.float32), np.arange(out_w, dtype=np.float32), indexing="ij"
    )
    for m in range(len(index)):
        img = images[int(index[m])].astype(np.float32)
        a = mats[m].astype(np.float32)
        sx = a[0, 0] * ox + a[0, 1] * oy + a[0, 2]
        sy = a[1, 0] * ox + a[1, 1] * oy + a[1, 2]
        x0, y0 = np.floor(sx), np.floor(sy)
        fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
        acc = np.zeros((out_h, out_w, 3), np.float32)
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                xi, yi = (x0 + dx).astype(np.int64), (y0 + dy).astype(np.int64)
                if border == BORDER_REPLICATE:
                    val = img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
                else:
                    ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
                    val = img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)] * ok[..., None]
                acc += wy * wx * val
        out[m] = acc * np.float32(scale) + np.float32(offset)
    return out


def _native_op() -> Any:
    try:
        from .. import _native  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(_native, "face_warp", None)


def warp(
    images: torch.Tensor,  # (N, H, W, 3) uint8, any device
    index: torch.Tensor,  # (M,) int64 on the same device
    mats: torch.Tensor,  # (M, 2, 3) float32 on the same device
    out_h: int,
    out_w: int,
    scale: float,
    offset: float,
    border: int,
    use_native: bool = True,
) -> torch.Tensor:
    """(M, out_h, out_w, 3) float32 on the images' device (Note [Face warp])."""
    if border not in (BORDER_ZERO, BORDER_REPLICATE):
        raise ValueError(f"border {border}; allowed: 0 (zero), 1 (replicate)")
    op = _native_op() if use_native else None
    if op is not None:
        out = torch.empty((len(index), out_h, out_w, 3), dtype=torch.float32, device=images.device)
        stream = torch.cuda.current_stream().cuda_stream if images.is_cuda else 0
        op(
            images.contiguous(),
            index.to(torch.int64).contiguous(),
            mats.float().contiguous(),
            out,
            float(scale),
            float(offset),
            int(border),
            stream,
        )
        return out
    _, h, w, _ = images.shape
    dev = images.device
    oy, ox = torch.meshgrid(
        torch.arange(out_h, device=dev, dtype=torch.float32),
        torch.arange(out_w, device=dev, dtype=torch.float32),
        indexing="ij",
    )
    a = mats.float()
    sx = a[:, 0, 0, None, None] * ox + a[:, 0, 1, None, None] * oy + a[:, 0, 2, None, None]  # (M, oh, ow)
    sy = a[:, 1, 0, None, None] * ox + a[:, 1, 1, None, None] * oy + a[:, 1, 2, None, None]
    x0, y0 = torch.floor(sx), torch.floor(sy)
    fx, fy = (sx - x0).unsqueeze(-1), (sy - y0).unsqueeze(-1)
    flat = images.reshape(-1, 3)
    base = (index.to(torch.int64) * (h * w))[:, None, None]
    acc = torch.zeros((len(index), out_h, out_w, 3), dtype=torch.float32, device=dev)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = (x0 + dx).long(), (y0 + dy).long()
            xc, yc = xi.clamp(0, w - 1), yi.clamp(0, h - 1)
            val = flat[base + yc * w + xc].float()
            if border == BORDER_ZERO:
                val = val * ((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)).unsqueeze(-1)
            acc += wy * wx * val
    return acc * scale + offset
