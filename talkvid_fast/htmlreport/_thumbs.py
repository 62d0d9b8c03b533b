"""Example thumbnails: one frame from the middle of a clip, small JPEG bytes.

Note [Thumbnail decode]: the pipeline's decoders read frames by pass-1 pts, which a report written later
does not have (and a full scan per source would cost as much as the run's pass 1). So a thumbnail is the
keyframe at or before the clip's middle, decoded alone, when it lies inside the clip; else the clip's first
frame (a decode from the keyframe before it). The display rotation the project's decoder reports
(`open_decoder(...).metadata.rotation`) is applied.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import cv2
import numpy as np

from ..decode import DecodeError, open_decoder
from ..decode._pyav import rotate_display

log = logging.getLogger(__name__)


def frame_at(path: str | Path, seconds: float, earliest: float | None = None) -> tuple[np.ndarray, float]:
    """(RGB uint8 (H, W, 3) display-orientation frame, its time): the last keyframe at or before `seconds`
    when it is shown at or after `earliest` (a keyframe alone is cheap to decode), else the first frame
    shown at or after `earliest` (default `seconds`). Raises DecodeError."""
    earliest = seconds if earliest is None else earliest
    decoder = open_decoder(str(path), "pyav", "cpu")
    try:
        rotation = decoder.metadata.rotation
    finally:
        decoder.close()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            tb = float(stream.time_base or 0) or 1 / 90000
            container.seek(max(0, int(seconds / tb)), stream=stream, backward=True, any_frame=False)
            stream.codec_context.skip_frame = "NONKEY"
            key = next(iter(container.decode(stream)), None)
            if key is not None and key.time is not None and earliest - 1e-6 <= key.time <= seconds + 1e-6:
                return rotate_display(key.to_ndarray(format="rgb24"), rotation), float(key.time)
            stream.codec_context.skip_frame = "DEFAULT"
            container.seek(max(0, int(earliest / tb)), stream=stream, backward=True, any_frame=False)
            last = None
            for frame in container.decode(stream):
                last = frame
                if frame.time is not None and frame.time + 1e-6 >= earliest:
                    break
            if last is None:
                raise DecodeError("corrupt", f"{path}: no frame at {earliest:.2f} s")
            return rotate_display(last.to_ndarray(format="rgb24"), rotation), float(last.time or 0.0)
    except av.error.FFmpegError as exc:
        raise DecodeError("corrupt", f"{path}: {exc}") from exc


def thumbnail_jpeg(
    path: str | Path, start: float, end: float, width: int = 160, quality: int = 80
) -> bytes | None:
    """JPEG bytes of a frame of the clip [start, end] (Note [Thumbnail decode]), `width` px wide; None
    (logged) when it cannot be decoded."""
    try:
        rgb, _ = frame_at(path, (start + end) / 2, earliest=start)
    except (DecodeError, OSError) as exc:
        log.warning("no thumbnail for %s at %.2f-%.2f s: %s", path, start, end, exc)
        return None
    h, w = rgb.shape[:2]
    height = max(1, round(h * width / w))
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    return buf.tobytes() if ok else None
