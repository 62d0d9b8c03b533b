"""Plain NumPy definitions of the stability ratios (the readable spec; fast paths are tested against it).

Note [Paper ratio]: for one window of T frames and K query points, a trajectory is valid iff in every frame
its confidence is >= `min_conf`, its displacement from the previous frame is <= `max_disp` px, and it is
inside the frame (0 <= x <= W - 1 and 0 <= y <= H - 1, pixel centres at integers). The window ratio is
valid / K; the clip ratio is the mean over its windows, and the minimum is recorded too.
The gate is `gate_min <= ratio <= gate_max` (0.85 and 0.999): a ratio above 0.999 means nothing moved
(a frozen or still video).

Note [Official ratio]: per segment of T frames and N grid points, a point is visible in a frame iff its
visibility probability (sigmoid of the logit) is > `vis_threshold` (0.9); frame 0 (the query frame) always
counts as visible. The segment ratio is the visible fraction over T x N; the clip ratio is the minimum over
segments. No gate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PaperParams:
    min_conf: float = 0.5  #: confidence needed in every frame
    max_disp: float = 20.0  #: largest allowed frame-to-frame displacement, px
    gate_min: float = 0.85
    gate_max: float = 0.999


def paper_window_ratios(
    tracks: np.ndarray,  # float32 (W, T, K, 2) x, y in px of the analysed frame
    conf: np.ndarray,  # float32 (W, T, K) confidence in [0, 1]
    height: int,
    width: int,
    min_conf: float = 0.5,
    max_disp: float = 20.0,
) -> np.ndarray:
    """float64 (W,): valid / K per window (Note [Paper ratio])."""
    tracks = np.asarray(tracks, dtype=np.float64)
    conf = np.asarray(conf, dtype=np.float64)
    if tracks.ndim != 4 or tracks.shape[-1] != 2 or conf.shape != tracks.shape[:3]:
        raise ValueError(f"tracks must be (W, T, K, 2) and conf (W, T, K); got {tracks.shape}, {conf.shape}")
    confident = np.all(conf >= min_conf, axis=1)  # (W, K)
    step = np.sqrt(np.sum(np.square(np.diff(tracks, axis=1)), axis=-1))  # (W, T-1, K)
    smooth = np.all(step <= max_disp, axis=1)
    x, y = tracks[..., 0], tracks[..., 1]
    inside = np.all((x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1), axis=1)
    valid = confident & smooth & inside
    k = tracks.shape[2]
    return np.asarray(valid.sum(axis=1) / k, dtype=np.float64)


def paper_clip_score(
    window_ratios: np.ndarray, params: PaperParams = PaperParams()
) -> dict[str, float | bool]:
    """Clip ratio (mean over windows), its minimum, and the gate verdict."""
    r = np.asarray(window_ratios, dtype=np.float64)
    if r.size == 0:
        raise ValueError("no windows")
    ratio = float(r.mean())
    return {
        "ratio": ratio,
        "ratio_min": float(r.min()),
        "passed": bool(params.gate_min <= ratio <= params.gate_max),
    }


def official_segment_ratio(
    vis: np.ndarray,  # float32 (T, N) visibility probability (after sigmoid)
    vis_threshold: float = 0.9,
) -> float:
    """Visible fraction of one segment, frame 0 forced visible (Note [Official ratio])."""
    vis = np.asarray(vis)
    if vis.ndim != 2 or vis.shape[0] < 1:
        raise ValueError(f"vis must be (T, N) with T >= 1; got {vis.shape}")
    visible = vis > np.float32(vis_threshold)  # the official code compares float32 tensors
    visible[0] = True
    return float(np.float32(visible.sum()) / np.float32(visible.size))  # torch's float32 mean of 0/1


def official_clip_ratio(segment_vis: list[np.ndarray], vis_threshold: float = 0.9) -> float:
    """Minimum of the segment ratios."""
    if not segment_vis:
        raise ValueError("no segments")
    return min(official_segment_ratio(v, vis_threshold) for v in segment_vis)


# Note [Camera motion]: two clip measures from the tracks of any tracker (klt, its CUDA twin, CoTracker),
# for gates the paper does not have (profile `open`); the frames are the paper's (25 fps, short side 512).
# A point counts at step t of a window iff its confidence is >= min_conf at t-1 and at t.
# - `camera_speed`: per step, the global motion is the component-wise lower median (sorted[(n - 1) // 2])
#   of the counted points' displacements: on a talking head most grid points sit still or move with the
#   head, so a mouth or eyes moving do not shift it, while a pan or a shake moves every point. The clip's
#   value is the lower median over all steps of its length, px per frame (NaN when no step has a point).
# - `motion`: per window, the 95th percentile (inverted CDF: sorted[ceil(0.95 n) - 1]) of the end-to-start
#   displacement of the points confident in every frame; the clip's value is the largest over windows
#   (0 when no point is). Below a pixel nothing moved: a still image or a frozen frame.
# Which points: `camera_points = "centre"` reads camera_speed on the ratio's central grid, where a
# talking head sits, so a head that moves as a whole (a child turning, liveportrait d11: 7.5 px/frame
# there) reads as camera motion. `camera_points = "border"` (klt, `open`) reads it on `border_grid`, the
# points of a whole-frame 16 x 16 lattice outside the central crop: the background, which is what a
# camera's pan or shake moves and a person in front of a still camera does not (d11 there: 0.26 px/frame;
# the pans keep theirs: dover 17734 7.3 -> 7.7, paragliding 6.3 -> 12.3, first 6 s, CPU). Where no
# border point is tracked at all (a flat, noiseless backdrop: nothing there to see a camera move by), the
# centre's value is used; the record says which (`camera_speed_points`).
def lower_median(values: np.ndarray) -> float:
    v = np.sort(np.asarray(values, np.float64).ravel())
    return float(v[(len(v) - 1) // 2]) if len(v) else float("nan")


def camera_motion(tracks: np.ndarray, conf: np.ndarray, min_conf: float = 0.5) -> tuple[float, float]:
    """(camera_speed, motion) of one clip's windows, tracks (W, T, K, 2), conf (W, T, K) (Note [Camera motion])."""
    tracks = np.asarray(tracks, np.float64)
    conf = np.asarray(conf, np.float64)
    n_win, n_t, _ = conf.shape
    speeds = []
    for w in range(n_win):
        for t in range(1, n_t):
            ok = (conf[w, t - 1] >= min_conf) & (conf[w, t] >= min_conf)
            if ok.any():
                d = tracks[w, t, ok] - tracks[w, t - 1, ok]
                speeds.append(np.hypot(lower_median(d[:, 0]), lower_median(d[:, 1])))
    motion = 0.0
    for w in range(n_win):
        ok = np.all(conf[w] >= min_conf, axis=0)
        if ok.any():
            disp = np.sort(np.hypot(*(tracks[w, -1, ok] - tracks[w, 0, ok]).T))
            motion = max(motion, float(disp[math.ceil(0.95 * len(disp)) - 1]))
    return lower_median(np.array(speeds)), motion


# Note [Ratio points]: which trajectories the stability ratio counts. `ratio_points = "centre"` (the
# paper's; every profile but `open`) counts the central grid, where a talking head sits, so a person who
# moves a lot in front of a still camera (a face pulling faces, a hand sweeping a brush over the face)
# loses points there and reads as an unstable camera. `ratio_points = "either"` (klt, `open`) also counts
# the border lattice that `camera_points = "border"` tracks (`sampling.border_grid`, the points outside
# the central crop) and takes, per clip, the region whose mean window ratio is higher (the centre on a
# tie, or when the frame has no border point). A camera that shakes or jerks disturbs both regions at
# once; a person moving disturbs the centre only, and the border has its own causes that are not the
# camera either: a flat wall (nothing to track), the shoulders and hair of a wide-framed speaker (a
# kept talking head, KatieHill, reads 0.83 on the border, 0.87 on the centre), traffic behind a still
# camera. So either region being steady vouches for the camera, and no new threshold is needed: a flat
# backdrop falls back to the centre by itself. The choice is made once per clip on the means, not per
# window, so it never picks the luckier of two noisy readings window by window. What the labels and the
# fixed split showed is in docs/motion.md ("Calibration of open's motion gates").
RATIO_POINTS = ("centre", "either")
WindowRatios = Callable[[Any, Any, int, int, float, float], np.ndarray]


def region_ratios(
    tracks: Any,  # (W, T, K, 2): the central grid's n_centre points first, then the border lattice
    conf: Any,  # (W, T, K)
    n_centre: int,
    height: int,
    width: int,
    ratio_points: str = "centre",
    min_conf: float = 0.5,
    max_disp: float = 20.0,
    window_ratios: WindowRatios = paper_window_ratios,
) -> tuple[np.ndarray, str, dict[str, float]]:
    """(window ratios of the region counted, its name, mean ratio per region scored) (Note [Ratio points]).

    `window_ratios` computes Note [Paper ratio] on a point subset: this module's NumPy definition by
    default, or a fast path of ratio_kernels with the same signature (the selection stays this code)."""
    if ratio_points not in RATIO_POINTS:
        raise ValueError(f"ratio_points {ratio_points!r}; allowed: {', '.join(RATIO_POINTS)}")
    n_all = tracks.shape[2]
    if not 0 < n_centre <= n_all:
        raise ValueError(f"n_centre {n_centre} must be in 1..{n_all} (the points tracked)")
    centre = window_ratios(tracks[:, :, :n_centre], conf[:, :, :n_centre], height, width, min_conf, max_disp)
    means = {"centre": float(np.mean(centre))}
    if ratio_points == "centre" or n_centre == n_all:
        return centre, "centre", means
    border = window_ratios(tracks[:, :, n_centre:], conf[:, :, n_centre:], height, width, min_conf, max_disp)
    means["border"] = float(np.mean(border))
    if means["border"] > means["centre"]:
        return border, "border", means
    return centre, "centre", means
