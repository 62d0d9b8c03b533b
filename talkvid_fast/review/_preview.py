"""A browser-playable copy of one clip (H.264 + AAC MP4, at most 480 px high) for sources whose codec the
browser cannot decode (MPEG-4 part 2, MPEG-1, ...): the page falls back to it when the source shows no
picture. Made on first request and cached."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..decode import open_decoder
from ..decode._pyav import rotate_display
from ..manifest import write_atomic

MAX_HEIGHT = 480


def make_preview(source: str | Path, start: float, end: float, out: Path) -> Path:
    """Writes `out` (if absent) with the frames and audio of [start, end) of `source`; returns it."""
    if out.is_file():
        return out
    decoder = open_decoder(str(source), "pyav", "cpu")
    rotation = decoder.metadata.rotation
    decoder.close()
    tmp = out.with_name(f".{out.stem}.tmp.mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as src, av.open(str(tmp), "w", format="mp4") as dst:
        vin = src.streams.video[0]
        ain = src.streams.audio[0] if src.streams.audio else None
        fps = Fraction(vin.average_rate or 25).limit_denominator(1000)
        vout = dst.add_stream("libx264", rate=fps)
        vout.pix_fmt = "yuv420p"
        vout.options = {"preset": "ultrafast", "crf": "26"}
        aout = resampler = None
        if ain is not None and ain.codec_context.sample_rate:
            rate = int(ain.codec_context.sample_rate)
            aout = dst.add_stream("aac", rate=rate)
            aout.layout = "stereo"
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        tb = float(vin.time_base or 0) or 1 / 90000
        src.seek(max(0, int(start / tb)), stream=vin, backward=True, any_frame=False)
        size: tuple[int, int] | None = None
        n = 0
        streams = [s for s in (vin, ain) if s is not None]
        for packet in src.demux(*streams):
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                    continue
                t = frame.time
                if t is None or t < start - 1e-6 or t >= end:
                    continue
                if isinstance(frame, av.VideoFrame):
                    rgb = rotate_display(frame.to_ndarray(format="rgb24"), rotation)
                    if size is None:
                        h, w = rgb.shape[:2]
                        scale = min(1.0, MAX_HEIGHT / h)
                        size = (max(2, round(w * scale) // 2 * 2), max(2, round(h * scale) // 2 * 2))
                        vout.width, vout.height = size
                    rgb = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
                    vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                    vf.pts = n
                    vf.time_base = Fraction(1) / fps
                    n += 1
                    for p in vout.encode(vf):
                        dst.mux(p)
                elif aout is not None and resampler is not None:
                    frame.pts = None
                    for rf in resampler.resample(frame):
                        for p in aout.encode(rf):
                            dst.mux(p)
            if packet.stream is vin and packet.pts is not None and packet.pts * tb > end + 1.0:
                break
        for p in vout.encode(None):
            dst.mux(p)
        if aout is not None:
            for p in aout.encode(None):
                dst.mux(p)
    write_atomic(out, tmp.read_bytes())
    tmp.unlink()
    return out
