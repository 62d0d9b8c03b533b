"""Frames on screen at given times, decoded with seeks (PyAV): for the few frames a clip's annotation or
bench cut needs, where a whole-source `scan` would decode far more.

Note [Frames at times]: the frame on screen at t is the last frame whose presentation time (seconds from the
stream's first frame) is <= t (+1 us), or the first frame when a seek lands after t. One seek to the
keyframe before the first time, then a forward decode, with a new seek when the next wanted time is more
than SEEK_GAP seconds ahead; the display rotation `probe` reports is applied.
"""

from __future__ import annotations

import av
import numpy as np

from ._api import DecodeError
from ._pyav import _open, probe, rotate_display

SEEK_GAP = 10.0  #: seconds ahead beyond which the decoder seeks instead of decoding through


def frames_at_times(path: str, times: list[float]) -> list[np.ndarray]:
    """RGB uint8 (H, W, 3) display-orientation frames on screen at the sorted `times`; raises DecodeError."""
    meta = probe(path)
    container = _open(path)
    out: list[np.ndarray] = []
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base or 0) or 1 / 90_000
        pos = 0
        while pos < len(times):
            target = times[pos]
            container.seek(max(0, int((target + meta.start_time) / tb)), stream=stream, backward=True)
            previous: av.VideoFrame | None = None
            served = pos  # times served before this seek: seek again only after serving one here
            seek_again = False
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * tb) - meta.start_time
                while pos < len(times) and t > times[pos] + 1e-6:
                    if previous is None:  # the seek landed after the wanted time: take this frame
                        previous = frame
                    out.append(rotate_display(previous.to_ndarray(format="rgb24"), meta.rotation))
                    pos += 1
                if pos >= len(times):
                    break
                # far from the next time: seek, unless this pass has served nothing yet (the seek already
                # went to the keyframe before it; seeking again would land on the same keyframe forever)
                if pos > served and times[pos] - t > SEEK_GAP:
                    seek_again = True
                    break
                previous = frame
            else:  # end of stream: the last frame is on screen until the end
                if previous is None:
                    raise DecodeError("corrupt", f"{path}: no frame decoded after {target:.3f} s")
                while pos < len(times):
                    out.append(rotate_display(previous.to_ndarray(format="rgb24"), meta.rotation))
                    pos += 1
            if not seek_again:
                break
    except av.error.FFmpegError as exc:
        raise DecodeError("corrupt", f"{path}: {exc}") from exc
    finally:
        container.close()
    return out
