"""The weight-free tracker: pyramidal Lucas-Kanade (OpenCV) with a forward-backward check.

Note [KLT validity]: the `klt` backend tracks the same query points as CoTracker (one grid per window,
queried at the window's first frame) frame to frame through the window. At each step t-1 -> t a point is
tracked forward (t-1 -> t) and backward (t -> t-1); it is lost, for the rest of the window, at the first
step where OpenCV does not find it (status 0) in either direction. The tracker records the
forward-backward error of every step, `fb[w, t, k]` (0 at t = 0, +inf from the step where it is lost on),
and the point's "confidence" is a function of that record alone (`confidence`, shared by the OpenCV and
CUDA trackers), 1 or 0, so the `paper` ratio (Note [Paper ratio]) applies unchanged:

- `validity = "step"` (the spec's rule, `paper`): confident while every step so far had an error <= `max_fb_error`
  (1 px). This is far stricter than CoTracker's confidence, which is trained to say whether the track is
  within 12 px of the truth (CoTracker3's `sequence_prob_loss`, `expected_dist_thresh = 12`), not whether
  the patch looks the same: a moving mouth, blinking eyes or a turning head deform the 31 px patch, the
  backward track lands a pixel or two off, and on the shared test media four of six kept talking heads
  fell below 0.85 (KatieHill 0.58, AOC 0.62).
- `validity = "drift"` (`open`): confident while the accumulated error so far, sum(fb) / 2 (a round trip
  error is about twice the one-way error), is <= `max_drift` px: the same 12 px as CoTracker's confidence,
  on frames whose short side is 512 px. A point on a deforming mouth is lost only when its errors add up
  to more than CoTracker would tolerate; a point lost by OpenCV is lost at once either way.

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
    max_fb_error: float = 1.0  #: validity "step": forward-backward error limit per step, px
    validity: str = "step"  #: step | drift (Note [KLT validity])
    max_drift: float = 12.0  #: validity "drift": limit of the accumulated forward-backward error / 2, px
    min_eig_threshold: float = 1e-6  #: flatness test (status 0 below); OpenCV's 1e-4 drops still, flat skin


def to_gray(frames: np.ndarray) -> np.ndarray:
    """uint8 (F, H, W, 3) RGB -> uint8 (F, H, W) luma (OpenCV's BT.601 weights)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (F, H, W, 3); got {frames.dtype} {frames.shape}")
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])


VALIDITIES = ("step", "drift")


def confidence(fb: Any, params: KltParams = KltParams()) -> Any:
    """float32 (W, T, K) confidence 1/0 from forward-backward errors (Note [KLT validity]); NumPy or torch
    in, the same kind out (on the same device). The NumPy branch is the definition."""
    if params.validity not in VALIDITIES:
        raise ValueError(f"klt validity {params.validity!r}; allowed: {', '.join(VALIDITIES)}")
    if isinstance(fb, np.ndarray):
        e = fb.astype(np.float64)
        if params.validity == "step":
            ok = np.maximum.accumulate(e, axis=1) <= params.max_fb_error
        else:
            ok = np.cumsum(e, axis=1) / 2.0 <= params.max_drift
        return ok.astype(np.float32)
    import torch

    e = fb.double()
    if params.validity == "step":
        lim = torch.cummax(e, dim=1).values <= params.max_fb_error
    else:
        lim = torch.cumsum(e, dim=1) / 2.0 <= params.max_drift
    return lim.float()


def track_windows(
    gray: np.ndarray,  # uint8 (F, H, W) resampled frames of one clip
    starts: np.ndarray,  # int64 (W,) first frame of each window
    length: int,  # frames per window
    points: np.ndarray,  # float32 (K, 2) x, y queried at each window's first frame
    params: KltParams = KltParams(),
) -> tuple[np.ndarray, np.ndarray]:
    """Tracks `points` through every window; returns tracks float32 (W, T, K, 2) and conf float32 (W, T, K)."""
    tracks, fb = track_windows_fb(gray, starts, length, points, params)
    return tracks, confidence(fb, params)


def track_windows_fb(
    gray: np.ndarray,
    starts: np.ndarray,
    length: int,
    points: np.ndarray,
    params: KltParams = KltParams(),
) -> tuple[np.ndarray, np.ndarray]:
    """tracks float32 (W, T, K, 2) and forward-backward errors fb float32 (W, T, K), +inf once lost."""
    n_frames = gray.shape[0]
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) == 0 or starts.max() + length > n_frames or starts.min() < 0:
        raise ValueError(f"windows {starts.tolist()} of length {length} do not fit {n_frames} frames")
    n_win, k = len(starts), len(points)
    tracks = np.zeros((n_win, length, k, 2), dtype=np.float32)
    fbs = np.zeros((n_win, length, k), dtype=np.float32)
    tracks[:, 0] = points
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
        fb = np.linalg.norm((bwd - prev).reshape(-1, 2), axis=-1).reshape(len(active), k)
        found = ((st_f.ravel() == 1) & (st_b.ravel() == 1)).reshape(len(active), k) & alive[active]
        alive[active] = found
        new = np.where(found[..., None], fwd.reshape(len(active), k, 2), tracks[active, steps - 1])
        tracks[active, steps] = new
        fbs[active, steps] = np.where(found, fb, np.inf)
    return tracks, fbs
