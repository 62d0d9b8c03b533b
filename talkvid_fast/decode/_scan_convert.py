"""Pass-1 frame conversion: decoded YUV frame -> the small BGR image the scene detector sees.

Note [Scan conversion]: the reference is scenedetect's own arithmetic (Note [Scene parity]): the whole
frame converted to BGR by swscale (PyAV `to_ndarray(format="bgr24")`), then `cv2.resize(..., INTER_LINEAR)`.
At 1080p and 2160p that conversion costs as much as a third of the decode, yet a bilinear downscale by a
factor f >= 3 reads only two source rows per output row: the other rows never reach the detector. So:

- `full`: one shared `VideoReformatter` for the whole scan (PyAV makes a new swscale context per frame
  otherwise), whole frame to BGR, cv2.resize. The reference arithmetic, bit for bit by construction.
- `rows` (what `auto` picks when it can): only the source rows cv2.resize reads are converted. They are
  copied into a compact 4:2:2 frame (each luma row with its 4:2:0 chroma row; swscale's 4:2:0 and 4:2:2
  paths to BGR are the same per-pixel arithmetic), converted by swscale with the source's colour tags,
  and written into those rows of a full-size buffer that cv2.resize then reads as before. This holds only
  where swscale converts each pixel from its own Y and its nearest chroma sample (the unscaled 4:2:0 path;
  odd heights take swscale's filtering path instead), so `auto` checks it: once per geometry and colour
  tags on a random frame, and on the first frame of every scan, against `full`; any difference and the
  scan stays on `full`. tests/decode/test_scan_convert.py compares every frame of the test media with
  the frames scenedetect itself hands a detector.
Resizing straight to the small size in swscale (SWS_BILINEAR) was measured and rejected: it is not cv2's
arithmetic, and on pyscenedetect__testvideo.mp4 it moved cuts (histogram 8 -> 6, content 3 -> 6).
"""

from __future__ import annotations

from typing import Any

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

SCAN_MODES = ("auto", "full", "rows")
# `rows` pays only when few rows are read: above this fraction the copies cost more than they save.
ROWS_MAX_FRACTION = 0.45
_COMPACT = {"yuv420p": "yuv422p", "yuvj420p": "yuvj422p"}
_verified: dict[tuple[Any, ...], bool] = {}  # (w, h, pix_fmt, colorspace, range, small) -> rows == full


def linear_rows(src: int, dst: int) -> np.ndarray:
    """Source indices cv2.resize INTER_LINEAR reads along an axis of `src` pixels resized to `dst`:
    floor((d + 0.5) * src / dst - 0.5) and the next, clamped (float32 and float64 rounding both kept)."""
    d = np.arange(dst, dtype=np.float64)
    f = (d + 0.5) * (src / dst) - 0.5
    s = np.concatenate([np.floor(f), np.floor(f.astype(np.float32)).astype(np.float64)]).astype(np.int64)
    return np.unique(np.clip(np.concatenate([s, s + 1]), 0, src - 1))


def scan_size(width: int, height: int, small: tuple[int, int] | None) -> tuple[int, int] | None:
    """Checks a scan's requested (w, h); None when the frame stays whole. The size is the caller's (stage 1
    passes scenedetect's own, `segment.small_size`): no decoder derives a height from a width."""
    if small is None:
        return None
    if (
        not isinstance(small, tuple)
        or len(small) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in small)
        or not (1 <= small[0] <= width and 1 <= small[1] <= height)
    ):
        raise ValueError(
            f"scan size must be None or (width, height) ints within 1..{width} x 1..{height}, got {small!r}"
        )
    return None if small == (width, height) else small


def _plane(frame: av.VideoFrame, i: int) -> np.ndarray:
    """(plane height, plane width) uint8 view of plane i."""
    p = frame.planes[i]
    return np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]


class ScanConverter:
    """Callable: decoded frame -> (small_h, small_w, 3) uint8 BGR, or the full (H, W, 3) when `small` is None."""

    def __init__(self, width: int, height: int, small: tuple[int, int] | None, mode: str = "auto") -> None:
        if mode not in SCAN_MODES:
            raise ValueError(f"unknown scan mode {mode!r}; allowed: {', '.join(SCAN_MODES)}")
        self.width, self.height, self.small = width, height, small
        self.mode = mode  # `auto` resolves to `rows` or `full` on the first frame
        self._reformatter = VideoReformatter()
        self._rows = linear_rows(height, small[1]) if small is not None else np.arange(height)
        self._buffer: np.ndarray | None = None  # (H, W, 3) uint8; only self._rows are written
        self._compact: av.VideoFrame | None = None  # (len(rows), W) 4:2:2

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self.mode == "auto":
            self.mode = "rows" if self._rows_hold(frame) else "full"
        if self.mode == "rows" and self.small is not None and frame.format.name in _COMPACT:
            return self.rows(frame)  # forced `rows` is for tests; `auto` checks it first
        return self.full(frame)

    def full(self, frame: av.VideoFrame) -> np.ndarray:
        """The reference arithmetic: whole frame to BGR by swscale, then cv2.resize INTER_LINEAR."""
        bgr: np.ndarray = self._reformatter.reformat(frame, format="bgr24").to_ndarray()
        if self.small is None:
            return bgr
        return np.asarray(cv2.resize(bgr, self.small, interpolation=cv2.INTER_LINEAR))

    def rows(self, frame: av.VideoFrame) -> np.ndarray:
        """Only the rows cv2.resize reads, converted through a compact 4:2:2 frame (Note [Scan conversion])."""
        assert self.small is not None
        rows = self._rows
        if self._compact is None or self._buffer is None:
            self._compact = av.VideoFrame(self.width, len(rows), _COMPACT[frame.format.name])
            self._buffer = np.zeros((self.height, self.width, 3), np.uint8)
        compact = self._compact
        np.take(_plane(frame, 0), rows, axis=0, out=_plane(compact, 0))
        chroma = rows // 2
        for i in (1, 2):
            _plane(compact, i)[:] = _plane(frame, i)[chroma]
        compact.colorspace = frame.colorspace
        compact.color_range = frame.color_range
        bgr = self._reformatter.reformat(compact, format="bgr24", threads=1).to_ndarray()
        self._buffer[rows] = bgr
        return np.asarray(cv2.resize(self._buffer, self.small, interpolation=cv2.INTER_LINEAR))

    def _rows_hold(self, frame: av.VideoFrame) -> bool:
        """Whether `rows` gives `full`'s pixels for frames like this one (checked, cached per geometry)."""
        if (
            self.small is None
            or frame.format.name not in _COMPACT
            or self.height % 2
            or len(self._rows) > ROWS_MAX_FRACTION * self.height
        ):
            return False
        key = (self.width, self.height, frame.format.name, frame.colorspace, frame.color_range, self.small)
        if key not in _verified:
            probe = av.VideoFrame(self.width, self.height, frame.format.name)
            rng = np.random.default_rng(0)
            for i in range(3):
                _plane(probe, i)[:] = rng.integers(0, 256, _plane(probe, i).shape, dtype=np.uint8)
            probe.colorspace, probe.color_range = frame.colorspace, frame.color_range
            _verified[key] = self._same(probe)
        return _verified[key] and self._same(frame)

    def _same(self, frame: av.VideoFrame) -> bool:
        ref = ScanConverter(self.width, self.height, self.small, mode="full").full(frame)
        return bool(np.array_equal(self.rows(frame), ref))
