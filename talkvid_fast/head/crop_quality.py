"""Face-crop quality with no learned weights: sharpness, exposure, noise and blockiness of the face.

Note [Face-crop quality]: for users without DOVER's (non-commercial) weights. On every sampled frame with
exactly one face the head stage already has the face box; from it:

- the crop: the square of side `scale` x the box's long side centred on the box, resampled to `size` x
  `size` px (supersampled bilinear: `ss = clamp(ceil(side / size), 1, 4)` samples per output pixel along
  each axis, averaged, so large faces are shrunk without aliasing), BT.601 luma rounded to uint8. A fixed
  size makes the numbers comparable across resolutions: they describe the face as a 128 px crop shows it.
- `sharpness`: population variance of the 4-neighbour Laplacian (0 1 0 / 1 -4 1 / 0 1 0) over the crop's
  interior (cv2.Laplacian with ksize 1); low = blurred or upscaled.
- `luma_p05`, `luma_p50`, `luma_p95`: percentiles of the crop's luma, "inverted CDF" definition (the
  smallest value v with #(Y <= v) >= ceil(q N), N pixels; numpy's method="inverted_cdf"); exposure.
- `noise`: Immerkaer's estimate sigma = sqrt(pi/2) / (6 (H-2)(W-2)) * sum |Y * M|, M = (1 -2 1)^T (1 -2 1),
  over the interior (M removes any image that is linear along x or along y, so a smooth shading reads 0).
- `blockiness`: on the frame's own pixels (not the crop: block edges sit on the coded frame's 8 px grid),
  luma (77 R + 150 G + 29 B + 128) >> 8 inside the face box (clipped to the frame, integer bounds
  floor/ceil): the mean absolute difference across 8 px block boundaries (x % 8 == 0 against x - 1, and
  the same for rows) plus 1, divided by the mean absolute difference between all other neighbour pairs
  plus 1. About 1 for uncompressed content; larger for blocky compression (flat blocks, steps at edges).

A clip's value of each metric is the median over its single-face frames. `CropQualityParams` holds the
gates ([head.crop_quality] in a profile). These functions are the definitions; crop_quality_kernels.py has
the Numba CPU and CUDA versions, tested equal to these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from .crop import BORDER_REPLICATE, Roi, warp

METRICS = ("sharpness", "luma_p05", "luma_p50", "luma_p95", "noise", "blockiness")


@dataclass(frozen=True)
class CropQualityParams:
    """[head.crop_quality]: off unless `enabled`; a gate whose threshold is 0 (or 255 for luma max) is off."""

    enabled: bool = False
    size: int = 128  #: crop side, px
    scale: float = 1.0  #: crop side / the face box's long side
    min_sharpness: float = 0.0  #: gate crop_sharpness: median Laplacian variance >= this
    min_luma_p50: float = 0.0  #: gate crop_exposure: median luma within [min_luma_p50, max_luma_p50] ...
    max_luma_p50: float = 255.0
    min_contrast: float = 0.0  #: ... and luma_p95 - luma_p05 >= min_contrast
    max_noise: float = 0.0  #: gate crop_noise: noise <= this (0: off)
    max_blockiness: float = 0.0  #: gate crop_blockiness: blockiness <= this (0: off)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> CropQualityParams:
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"[head.crop_quality] unknown keys {unknown}; allowed: {', '.join(names)}")
        p = cls(**params)
        if p.size < 8 or not 0.25 <= p.scale <= 4.0:
            raise ValueError(f"[head.crop_quality] size must be >= 8 and scale in [0.25, 4]; got {p}")
        return p


def luma_crops(
    frames: torch.Tensor,  # uint8 (N, H, W, 3) on any device
    index: np.ndarray,  # (M,) frame of each face
    boxes: np.ndarray,  # (M, 4) xmin, ymin, xmax, ymax in frame pixels
    size: int = 128,
    scale: float = 1.0,
) -> torch.Tensor:
    """uint8 (M, size, size) luma crops on the frames' device (Note [Face-crop quality])."""
    m = len(index)
    if m == 0:
        return torch.zeros((0, size, size), dtype=torch.uint8, device=frames.device)
    boxes = np.asarray(boxes, np.float64).reshape(m, 4)
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale
    out = torch.empty((m, size, size), dtype=torch.uint8, device=frames.device)
    ss_of = np.clip(np.ceil(sides / size), 1, 4).astype(np.int64)
    luma_w = torch.tensor([0.299, 0.587, 0.114], device=frames.device)
    for ss in np.unique(ss_of).tolist():  # one warp per supersampling factor
        sel = np.nonzero(ss_of == ss)[0]
        mats = np.stack(
            [
                Roi((boxes[i, 0] + boxes[i, 2]) / 2, (boxes[i, 1] + boxes[i, 3]) / 2, sides[i], 0.0).matrix(
                    size * ss
                )
                for i in sel
            ]
        )
        rgb = warp(
            frames,
            torch.as_tensor(np.asarray(index)[sel], dtype=torch.int64, device=frames.device),
            torch.as_tensor(mats, dtype=torch.float32, device=frames.device),
            size * ss,
            size * ss,
            1.0,
            0.0,
            BORDER_REPLICATE,
        )
        y = (rgb * luma_w).sum(-1)  # (k, size*ss, size*ss)
        y = y.reshape(len(sel), size, ss, size, ss).mean(dim=(2, 4))
        out[torch.as_tensor(sel, device=frames.device)] = y.round().clamp(0, 255).to(torch.uint8)
    return out


def crop_metrics(crop: np.ndarray) -> np.ndarray:
    """float64 (5,): sharpness, luma_p05, luma_p50, luma_p95, noise of one uint8 (S, S) luma crop."""
    y = np.asarray(crop)
    if y.ndim != 2 or y.dtype != np.uint8 or min(y.shape) < 3:
        raise ValueError(f"crop must be uint8 (H, W) with H, W >= 3; got {y.dtype} {y.shape}")
    f = y.astype(np.int64)
    lap = f[:-2, 1:-1] + f[2:, 1:-1] + f[1:-1, :-2] + f[1:-1, 2:] - 4 * f[1:-1, 1:-1]
    sharp = float(np.mean(lap.astype(np.float64) ** 2) - np.mean(lap.astype(np.float64)) ** 2)
    n = f.size
    order = np.sort(f.ravel())
    pct = [float(order[max(1, math.ceil(q * n)) - 1]) for q in (0.05, 0.5, 0.95)]
    rows = f[:, :-2] - 2 * f[:, 1:-1] + f[:, 2:]  # (1 -2 1) along x
    m = rows[:-2] - 2 * rows[1:-1] + rows[2:]  # then along y
    h, w = f.shape
    noise = math.sqrt(math.pi / 2) * float(np.abs(m).sum()) / (6.0 * (h - 2) * (w - 2))
    return np.array([sharp, *pct, noise], np.float64)


def box_bounds(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """Integer (x0, y0, x1, y1), half-open, of a frame-pixel box clipped to the frame."""
    x0 = min(max(math.floor(box[0]), 0), width)
    y0 = min(max(math.floor(box[1]), 0), height)
    x1 = min(max(math.ceil(box[2]), x0), width)
    y1 = min(max(math.ceil(box[3]), y0), height)
    return x0, y0, x1, y1


def luma_int(rgb: np.ndarray) -> np.ndarray:
    """int64 luma (77 R + 150 G + 29 B + 128) >> 8 of uint8 (..., 3) RGB."""
    c = np.asarray(rgb).astype(np.int64)
    return np.asarray((77 * c[..., 0] + 150 * c[..., 1] + 29 * c[..., 2] + 128) >> 8)


def blockiness(frame: np.ndarray, box: np.ndarray) -> float:
    """Blockiness of the face box on one uint8 (H, W, 3) RGB frame (Note [Face-crop quality])."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = box_bounds(box, h, w)
    y = luma_int(frame[y0:y1, x0:x1])
    dx = np.abs(np.diff(y, axis=1)).astype(np.float64)  # pair (x-1, x) for x = x0+1 .. x1-1
    dy = np.abs(np.diff(y, axis=0)).astype(np.float64)
    on_x = (np.arange(x0 + 1, x1) % 8) == 0
    on_y = (np.arange(y0 + 1, y1) % 8) == 0
    edge = np.concatenate([dx[:, on_x].ravel(), dy[on_y, :].ravel()])
    inner = np.concatenate([dx[:, ~on_x].ravel(), dy[~on_y, :].ravel()])
    mean_e = float(edge.mean()) if edge.size else 0.0
    mean_i = float(inner.mean()) if inner.size else 0.0
    return (mean_e + 1.0) / (mean_i + 1.0)


def clip_values(per_face: np.ndarray) -> dict[str, float]:
    """Median over a clip's faces of (F, 6) metrics in METRICS order; NaN when the clip has no face."""
    arr = np.asarray(per_face, np.float64).reshape(-1, len(METRICS))
    if len(arr) == 0:
        return {k: math.nan for k in METRICS}
    med = np.median(arr, axis=0)
    return {k: float(v) for k, v in zip(METRICS, med, strict=True)}


def gates(values: dict[str, float], p: CropQualityParams) -> dict[str, bool]:
    """The crop gates of a clip (only those switched on); a clip without faces fails them all."""
    out: dict[str, bool] = {}
    nan = any(math.isnan(v) for v in values.values())
    if p.min_sharpness > 0:
        out["crop_sharpness"] = not nan and values["sharpness"] >= p.min_sharpness
    if p.min_luma_p50 > 0 or p.max_luma_p50 < 255 or p.min_contrast > 0:
        out["crop_exposure"] = (
            not nan
            and p.min_luma_p50 <= values["luma_p50"] <= p.max_luma_p50
            and values["luma_p95"] - values["luma_p05"] >= p.min_contrast
        )
    if p.max_noise > 0:
        out["crop_noise"] = not nan and values["noise"] <= p.max_noise
    if p.max_blockiness > 0:
        out["crop_blockiness"] = not nan and values["blockiness"] <= p.max_blockiness
    return out
