"""Which frames the motion stage looks at: `paper` windows and `official` segments, and the query grids.

Note [Paper windows]: the clip is resampled to `fps` (25) by taking, for each time
`clip.start + k / fps` (k = 0, 1, ... while < clip.end), the source frame on screen at that time (the last
frame whose presentation time is <= t, from `clip.frame_times`, so VFR sources are exact). Windows are
`window` (16) consecutive resampled frames, starting every `stride` (8) frames; a clip shorter than one
window gets a single window of all its resampled frames (at least 2). Frames are resized so the short side
is `short_side` (512) px (up or down, so the 20 px displacement threshold always means the same thing).

Note [Official segments]: the published code (camera_filtering.py, reference/official-pipeline.md §3.2)
caps the frame rate at 30 fps with indices `int(i * (fps / 30))`, drops `int(0.2 * fps)` frames at each end
when the clip has more frames than fps, cuts 1-3 segments of 6 s from the clip duration and takes every
`int(fps / 2)`-th frame of each segment, where fps = min(30, source fps). Times index the trimmed array.
fps and duration are the official code's own (Note [Official clock] in clips.py: the container's average
rate and stage 1's duration rounded to 0.1 s), and every expression keeps its operation order, so the
frames are the ones decord would hand it (tests/motion/test_official_selection.py runs camera_filtering.py
itself). Two of its failures are not reproduced: below 5 fps its trim `[0:-0]` empties the clip, and below
2 fps its step `int(fps / 2)` is 0 (range() raises); here the trim is skipped and the step is 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..clips import Clip


@dataclass(frozen=True)
class WindowPlan:
    """The resampled frames of one clip and how they group into windows (Note [Paper windows])."""

    indices: np.ndarray  #: int64 (F,), clip-relative frame numbers of the resampled frames
    starts: np.ndarray  #: int64 (W,), first resampled frame of each window
    length: int  #: frames per window (== window, or F for a clip shorter than one window)


@dataclass(frozen=True)
class SegmentPlan:
    """The official code's segments of one clip (Note [Official segments])."""

    indices: np.ndarray  #: int64 (F,), clip-relative frame numbers of all segments, concatenated
    bounds: np.ndarray  #: int64 (S + 1,), segment s is indices[bounds[s]:bounds[s + 1]]


def resample_indices(clip: Clip, fps: float) -> np.ndarray:
    """Clip-relative index of the frame on screen at `clip.start + k / fps`, for every k with time < end."""
    if clip.num_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    n = max(1, math.ceil((clip.end - clip.start) * fps - 1e-9))
    times = clip.start + np.arange(n, dtype=np.float64) / fps
    times = times[times < clip.end] if n > 1 else times
    idx = np.searchsorted(np.asarray(clip.frame_times, dtype=np.float64), times + 1e-9, side="right") - 1
    return np.clip(idx, 0, clip.num_frames - 1).astype(np.int64)


def plan_windows(clip: Clip, fps: float = 25.0, window: int = 16, stride: int = 8) -> WindowPlan:
    """Paper windows of one clip; raises ValueError when the clip has fewer than 2 resampled frames."""
    if window < 2 or stride < 1:
        raise ValueError(f"window must be >= 2 and stride >= 1, got window={window}, stride={stride}")
    indices = resample_indices(clip, fps)
    n = len(indices)
    if n < 2:
        raise ValueError(f"clip {clip.clip_id} has {n} frame(s) at {fps} fps; at least 2 are needed")
    if n < window:
        return WindowPlan(indices, np.zeros(1, dtype=np.int64), n)
    starts = np.arange(0, n - window + 1, stride, dtype=np.int64)
    return WindowPlan(indices, starts, window)


def scaled_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(H, W) with the short side equal to `short_side`, aspect ratio kept (rounded to whole pixels)."""
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def official_segments(duration: float) -> list[tuple[float, float]]:
    """The official 6-second segments of a clip of `duration` seconds (camera_filtering.get_segments)."""
    d = duration
    if d <= 6.0:
        return [(0.0, d)]
    if d <= 12.0:
        return [(0.0, 6.0), (d - 6.0, d)]
    # as written upstream (middle + 6.0; d / 2 + 3.0 gave the same frames wherever tried)
    middle = (d / 2) - 3.0
    return [(0.0, 6.0), (middle, middle + 6.0), (d - 6.0, d)]


def plan_segments(num_frames: int, fps: float, duration: float) -> SegmentPlan:
    """Official frame selection for a clip of `num_frames` frames (Note [Official segments]); `fps` and
    `duration` are `Clip.official_fps` and `Clip.official_duration`."""
    if fps > 30:
        interval = fps / 30
        kept = np.array([int(i * interval) for i in range(int(num_frames / interval))], dtype=np.int64)
    else:
        kept = np.arange(num_frames, dtype=np.int64)
    f = 30 if fps > 30 else fps
    if len(kept) > f:
        trim = int(0.2 * f)
        if trim:
            kept = kept[trim:-trim]
    step = max(1, int(f / 2.0))
    parts: list[np.ndarray] = []
    for s, e in official_segments(duration):
        lo = max(int(math.floor(s * f)), 0)
        hi = min(int(math.ceil(e * f)), len(kept))
        parts.append(kept[lo:hi:step])
    bounds = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
    indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return SegmentPlan(indices.astype(np.int64), bounds)


def border_grid(height: int, width: int, crop: int = 256, grid: int = 16, margin: int = 16) -> np.ndarray:
    """float32 (K, 2) x, y: the points of a grid x grid lattice over the whole frame, inset by `margin` px
    (half an LK window, so each point's window lies in the frame), that fall outside the central crop x crop
    square: where the background is in a talking-head shot (Note [Camera motion]). Row-major."""
    if crop > min(height, width):
        raise ValueError(f"central crop {crop} px does not fit a {width}x{height} frame")
    xs = np.linspace(margin, width - 1 - margin, grid)
    ys = np.linspace(margin, height - 1 - margin, grid)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    outside = (np.abs(gx + 0.5 - width / 2) > crop / 2) | (np.abs(gy + 0.5 - height / 2) > crop / 2)
    return np.stack([gx[outside], gy[outside]], axis=-1).astype(np.float32)


def paper_grid(height: int, width: int, crop: int = 256, grid: int = 16) -> np.ndarray:
    """float32 (grid*grid, 2) x, y: cell centres of a grid x grid lattice in the central crop x crop square.

    Pixel centres are at integer coordinates (OpenCV and CoTracker convention); row-major (y outer, x inner).
    """
    if crop > min(height, width):
        raise ValueError(f"central crop {crop} px does not fit a {width}x{height} frame")
    x0 = (width - crop) / 2 - 0.5
    y0 = (height - crop) / 2 - 0.5
    cell = crop / grid
    xs = x0 + cell * (np.arange(grid) + 0.5)
    ys = y0 + cell * (np.arange(grid) + 0.5)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=-1).astype(np.float32)


def official_grid(grid: int = 100, size: tuple[int, int] = (384, 512)) -> np.ndarray:
    """float32 (grid*grid, 2) x, y: CoTracker's `get_points_on_a_grid` (margin W/64, row-major)."""
    h, w = size
    margin = w / 64
    ys = np.linspace(margin, h - margin, grid)
    xs = np.linspace(margin, w - margin, grid)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=-1).astype(np.float32)
