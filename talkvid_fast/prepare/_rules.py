"""Which source frames a training clip shows, and where its face crop lies.

Note [Frame selection]: TalkVid's preprocessing re-encodes every clip with `ffmpeg -r 24`, whose CFR
output shows, at output frame k (time t_k = k / fps from the clip start), the input frame nearest in time:
FFmpeg converts each input time to output ticks with round-to-nearest, so frame k shows the last input
frame whose time is < t_k + 1 / (2 fps) (the `fps` filter's default `round=near`). We pick the same frames
by timestamp from the one decode, VFR-exact: output frame k of a clip [start, end) is the last clip frame
with time < start + (k + 0.5) / fps, or the clip's first frame when none is that early; the clip has
K = floor((end - start) * fps) output frames. `tests/prepare/test_rules.py` checks the rule against
FFmpeg's own `fps` filter on a real source.

Note [Crop rules]: `talkvid` is TalkVid's `face_crop.py`: the union of the first face's boxes over the
clip, centre `int((x1 + x2) / 2)`, side `int(1.6 * max(width, height))`, half `int(side / 2)`, top-left
`int(centre - half)` clamped at 0, the slice `frame[top:top + 2 half, left:left + 2 half]` (cut short at the
frame's right and bottom edges, so a face near an edge gets a non-square region that is stretched to the
square output, as theirs is), resized to `size` x `size`; we resample bilinearly (half-pixel centres,
edge replicated, as cv2.INTER_LINEAR; theirs is INTER_NEAREST) with the face-warp op. `smoothed` follows
the face: per output frame the first face's box centre and side (1.6 x its long side), each averaged over
a centred window of `smooth_seconds` (shrunk at the clip ends; frames without a face take the nearest
face's box), the side capped at the frame's short side and the square shifted to lie inside the frame,
so nothing is stretched or padded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

CROP_RULES = ("talkvid", "smoothed")
TALKVID_SCALE = 1.6


def output_frame_count(start: float, end: float, fps: float) -> int:
    """K = floor(duration * fps) (Note [Frame selection]); a tiny tolerance absorbs float noise."""
    return max(0, math.floor((end - start) * fps + 1e-6))


class FrameSelector:
    """Note [Frame selection], streaming: fed a clip's frames in presentation order, it hands each output
    frame k its source frame as soon as that is known, so only the shown frames are ever held."""

    def __init__(self, start: float, count: int, fps: float) -> None:
        self.start, self.count, self.fps = start, count, fps
        self.k = 0
        self._prev: tuple[int, float, Any] | None = None

    def _bound(self) -> float:
        # last frame with time < bound; 1e-9 s keeps a frame exactly on the boundary out (round half up)
        return self.start + (self.k + 0.5) / self.fps - 1e-9

    def feed(self, index: int, seconds: float, frame: Any) -> list[tuple[int, int, float, Any]]:
        """The next clip frame -> the (k, index, seconds, frame) output frames decided by it."""
        out = []
        while self.k < self.count and seconds >= self._bound():
            idx, t, f = self._prev if self._prev is not None else (index, seconds, frame)
            out.append((self.k, idx, t, f))
            self.k += 1
        self._prev = (index, seconds, frame)
        return out

    def finish(self) -> list[tuple[int, int, float, Any]]:
        """After the clip's last frame: the output frames still open all show it."""
        if self._prev is None:
            return []
        idx, t, f = self._prev
        out = [(k, idx, t, f) for k in range(self.k, self.count)]
        self.k = self.count
        return out


def select_frames(times: np.ndarray, start: float, count: int, fps: float) -> np.ndarray:
    """int64 (count,) positions in `times` (a clip's frame times, sorted) shown at output frames 0..count-1,
    by the streaming FrameSelector."""
    if len(times) == 0:
        raise ValueError("a clip with no frames has no output frames")
    sel = FrameSelector(start, count, fps)
    picked = [
        i for n, t in enumerate(np.asarray(times, np.float64)) for _, i, _, _ in sel.feed(n, float(t), None)
    ]
    picked += [i for _, i, _, _ in sel.finish()]
    return np.asarray(picked, np.int64)


@dataclass(frozen=True)
class CropRegion:
    """An axis-aligned source region [x0, x0 + w) x [y0, y0 + h) (frame pixels, continuous) resampled to the
    square output; `slice_` True when it is an integer slice resampled on its own (edges replicated)."""

    x0: float
    y0: float
    w: float
    h: float
    slice_: bool

    def to_crop(self, size: int) -> np.ndarray:
        """(2, 3) affine: frame point (x, y, 1), continuous -> crop point, continuous."""
        sx, sy = size / self.w, size / self.h
        return np.array([[sx, 0.0, -self.x0 * sx], [0.0, sy, -self.y0 * sy]])

    def sample_matrix(self, size: int) -> np.ndarray:
        """(2, 3) affine of the warp op (Note [Face warp]): output pixel index -> source pixel index, in the
        slice's own pixels when `slice_`, else in the frame's."""
        kx, ky = self.w / size, self.h / size
        ox, oy = (0.0, 0.0) if self.slice_ else (self.x0, self.y0)
        return np.array([[kx, 0.0, ox + 0.5 * kx - 0.5], [0.0, ky, oy + 0.5 * ky - 0.5]])


def union_box(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 (NaN rows ignored) -> (4,) their union."""
    ok = ~np.isnan(boxes).any(1)
    if not ok.any():
        raise ValueError("no face box to crop around")
    b = boxes[ok]
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def talkvid_region(boxes: np.ndarray, width: int, height: int) -> CropRegion:
    """TalkVid's crop (Note [Crop rules]) from the clip's per-frame boxes (N, 4)."""
    x1, y1, x2, y2 = union_box(boxes)
    cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
    half = int(int(max(x2 - x1, y2 - y1) * TALKVID_SCALE) / 2)
    left, top = max(0, cx - half), max(0, cy - half)
    right, bottom = min(width, left + 2 * half), min(height, top + 2 * half)
    if right <= left or bottom <= top:
        raise ValueError(f"empty crop region for box {x1, y1, x2, y2} in a {width}x{height} frame")
    return CropRegion(float(left), float(top), float(right - left), float(bottom - top), True)


def _fill_missing(values: np.ndarray) -> np.ndarray:
    """NaN rows take the nearest valid row (earlier one on a tie)."""
    ok = ~np.isnan(values).any(1)
    if ok.all():
        return values
    good = np.flatnonzero(ok)
    pos = np.arange(len(values))
    right = np.clip(np.searchsorted(good, pos), 0, len(good) - 1)
    left = np.clip(right - 1, 0, len(good) - 1)
    pick = np.where(np.abs(good[left] - pos) <= np.abs(good[right] - pos), good[left], good[right])
    return values[pick]


def smoothed_regions(
    boxes: np.ndarray, width: int, height: int, fps: float, smooth_seconds: float
) -> list[CropRegion]:
    """The `smoothed` crop (Note [Crop rules]): one square region per output frame."""
    if smooth_seconds < 0:
        raise ValueError(f"smooth_seconds must be >= 0, got {smooth_seconds}")
    union_box(boxes)  # raises when there is no face at all
    b = _fill_missing(np.asarray(boxes, np.float64))
    track = np.column_stack(
        [
            (b[:, 0] + b[:, 2]) / 2,
            (b[:, 1] + b[:, 3]) / 2,
            TALKVID_SCALE * np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]),
        ]
    )
    half_window = int(round(smooth_seconds * fps / 2))
    csum = np.vstack([np.zeros((1, 3)), np.cumsum(track, 0)])
    n = len(track)
    lo = np.clip(np.arange(n) - half_window, 0, n)
    hi = np.clip(np.arange(n) + half_window + 1, 0, n)
    mean = (csum[hi] - csum[lo]) / (hi - lo)[:, None]
    regions = []
    for cx, cy, side in mean:
        side = min(side, float(min(width, height)))
        x0 = min(max(cx - side / 2, 0.0), width - side)
        y0 = min(max(cy - side / 2, 0.0), height - side)
        regions.append(CropRegion(x0, y0, side, side, False))
    return regions
