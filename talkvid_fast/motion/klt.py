"""The weight-free tracker: pyramidal Lucas-Kanade (OpenCV) with a forward-backward check.

Note [KLT validity]: the `klt` backend tracks the same query points as CoTracker (one grid per window,
queried at the window's first frame) frame to frame through the window. At each step t-1 -> t a point
stays tracked iff OpenCV reports it found (status 1) both forward (t-1 -> t) and backward (t -> t-1) and
the backward track lands within `max_fb_error` (1 px) of where it started. Its "confidence" is 1 while it
stays tracked and 0 from the first failed step on, so the `paper` ratio (Note [Paper ratio]) applies
unchanged: confidence >= 0.5 in every frame, displacement <= 20 px, inside the frame. Records say `klt`.

Each frame pair is processed once: the points of every window that contains the pair (two, with stride
8 of 16) go through one forward and one backward call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

_pyr_lk: Any = cv2.calcOpticalFlowPyrLK  # (OpenCV's stubs reject nextPts=None, which it accepts)


@dataclass(frozen=True)
class KltParams:
    win_size: int = 31  #: LK window, px (odd; 31 holds up on talking faces better than 21)
    max_level: int = 3  #: pyramid levels above the base (3: tracks motions up to ~ 8 * win_size / 2 px)
    iterations: int = 30  #: LK iterations per level
    epsilon: float = 0.01  #: LK convergence threshold, px
    max_fb_error: float = 1.0  #: forward-backward error limit, px
    min_eig_threshold: float = 1e-6  #: flatness test (status 0 below); OpenCV's 1e-4 drops still, flat skin


def to_gray(frames: np.ndarray) -> np.ndarray:
    """uint8 (F, H, W, 3) RGB -> uint8 (F, H, W) luma (OpenCV's BT.601 weights)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (F, H, W, 3); got {frames.dtype} {frames.shape}")
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])


def track_windows(
    gray: np.ndarray,  # uint8 (F, H, W) resampled frames of one clip
    starts: np.ndarray,  # int64 (W,) first frame of each window
    length: int,  # frames per window
    points: np.ndarray,  # float32 (K, 2) x, y queried at each window's first frame
    params: KltParams = KltParams(),
) -> tuple[np.ndarray, np.ndarray]:
    """Tracks `points` through every window; returns tracks float32 (W, T, K, 2) and conf float32 (W, T, K)."""
    n_frames = gray.shape[0]
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) == 0 or starts.max() + length > n_frames or starts.min() < 0:
        raise ValueError(f"windows {starts.tolist()} of length {length} do not fit {n_frames} frames")
    n_win, k = len(starts), len(points)
    tracks = np.zeros((n_win, length, k, 2), dtype=np.float32)
    conf = np.zeros((n_win, length, k), dtype=np.float32)
    tracks[:, 0] = points
    conf[:, 0] = 1.0
    alive = np.ones((n_win, k), dtype=bool)
    win = (params.win_size, params.win_size)
    lk: dict[str, Any] = {
        "winSize": win,
        "maxLevel": params.max_level,
        "criteria": (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, params.iterations, params.epsilon),
        "minEigThreshold": params.min_eig_threshold,
    }
    for f in range(1, n_frames):
        active = np.nonzero((starts < f) & (starts + length > f))[0]  # windows containing f-1 and f
        if len(active) == 0:
            continue
        steps = f - starts[active]  # frame f is step `steps` of each active window
        prev = tracks[active, steps - 1].reshape(-1, 1, 2)
        p_prev, p_cur = gray[f - 1], gray[f]
        fwd, st_f, _ = _pyr_lk(p_prev, p_cur, prev, None, **lk)
        bwd, st_b, _ = _pyr_lk(p_cur, p_prev, fwd, None, **lk)
        fb = np.linalg.norm((bwd - prev).reshape(-1, 2), axis=-1)
        ok = (st_f.ravel() == 1) & (st_b.ravel() == 1) & (fb <= params.max_fb_error)
        ok = ok.reshape(len(active), k) & alive[active]
        alive[active] = ok
        new = np.where(ok[..., None], fwd.reshape(len(active), k, 2), tracks[active, steps - 1])
        tracks[active, steps] = new
        conf[active, steps] = ok.astype(np.float32)
    return tracks, conf
