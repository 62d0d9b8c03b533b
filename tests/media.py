"""Synthetic media with exactly known answers (scene cuts, timestamps, audio), made with PyAV in the test."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

SCENE_COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 60), (30, 30, 30)]


def scene_frames(
    scene_lengths: list[int], size: tuple[int, int] = (96, 128), seed: int = 0
) -> list[np.ndarray]:
    """Frames of scenes of the given lengths: each scene a distinct colour with a moving gradient and mild noise."""
    rng = np.random.default_rng(seed)
    h, w = size
    frames = []
    xx = np.mgrid[0:h, 0:w][1]
    for s, n in enumerate(scene_lengths):
        base = np.array(SCENE_COLOURS[s % len(SCENE_COLOURS)], dtype=np.float32)
        for i in range(n):
            grad = ((xx + 2 * i) % w) / w * 40.0
            img = base[None, None, :] + grad[..., None] + rng.normal(0, 2, (h, w, 3))
            frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 25,
    times: list[float] | None = None,
    audio: np.ndarray | None = None,
    sample_rate: int = 16_000,
    codec: str = "libx264",
) -> Path:
    """Encodes RGB frames (optionally at explicit VFR `times`, with int16 mono `audio`) into `path`."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w") as out:
        stream: Any = out.add_stream(codec, rate=fps)
        odd = h % 2 or w % 2  # 4:2:0 H.264 needs even sizes; odd-size tests get 4:4:4
        stream.width, stream.height, stream.pix_fmt = (
            w,
            h,
            "yuv444p" if odd and codec == "libx264" else "yuv420p",
        )
        stream.codec_context.time_base = Fraction(1, 1000 * fps)
        if codec == "libx264":
            stream.options = {"crf": "12", "preset": "ultrafast", "bf": "0"}
        astream: Any = out.add_stream("aac", rate=sample_rate, layout="mono") if audio is not None else None
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            t = times[i] if times is not None else i / fps
            frame.pts = int(round(t * 1000 * fps))
            frame.time_base = Fraction(1, 1000 * fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if astream is not None and audio is not None:
            chunk = 1024
            for k in range(0, len(audio), chunk):
                block = audio[k : k + chunk].astype(np.int16)
                aframe = av.AudioFrame.from_ndarray(block[None, :], format="s16", layout="mono")
                aframe.sample_rate = sample_rate
                aframe.pts = k
                for packet in astream.encode(aframe):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    return path


def make_clip(
    clip_id: str,
    width: int,
    height: int,
    fps: float,
    times: np.ndarray,
    path: str = "",
    start_frame: int = 0,
    scene: int = 1,
) -> Any:
    """A Clip over frames at `times` (seconds, float64 (N,)) of a source of that size, for stage tests."""
    from talkvid_fast.clips import Clip, SourceInfo

    n = len(times)
    end = float(times[-1] + 1 / fps)
    source = SourceInfo(clip_id.split("-scene")[0], path, end, width, height, fps, n, 0, "h264", None)
    return Clip(
        clip_id,
        source,
        scene,
        float(times[0]),
        end,
        start_frame,
        start_frame + n,
        np.asarray(times, np.float64),
    )
