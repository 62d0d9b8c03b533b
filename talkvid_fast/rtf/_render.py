"""Renders one planned corpus source (Note [Benchmark corpus]): frame map, upscale, libx264/libx265 + AAC."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import cv2
import numpy as np

from ..decode._pyav import rotate_display

if TYPE_CHECKING:
    from ._corpus import Shot, SourceSpec

ENCODERS = {"h264": "libx264", "hevc": "libx265"}
SAMPLE_RATE = 44100
THREADS = 4  #: fixed encoder threads: x264/x265 output depends on the thread count, never on the machine


def encoder_settings(spec: SourceSpec) -> dict[str, Any]:
    """Everything handed to the encoder, recorded in the corpus manifest."""
    options = {
        "preset": spec.preset,
        "b": str(spec.video_kbps * 1000),
        "maxrate": str(spec.video_kbps * 1500),
        "bufsize": str(spec.video_kbps * 2000),
        "g": str(2 * spec.fps),  # a key frame every 2 s at most (streaming-style GOP)
    }
    if spec.codec == "h264":
        options["threads"] = str(THREADS)
        options["profile"] = "high"
    elif spec.codec == "hevc":
        options["x265-params"] = f"pools={THREADS}:frame-threads=2:log-level=error"
    else:
        raise ValueError(f"unknown codec {spec.codec!r}; allowed: {', '.join(ENCODERS)}")
    return {"encoder": ENCODERS[spec.codec], "pix_fmt": "yuv420p", "options": options}


def _clip_frames(path: Path, t0: float, t1: float) -> tuple[np.ndarray, list[np.ndarray], int]:
    """The frames of `path` on screen during [t0, t1): times (N,) float64 s, RGB (H, W, 3) uint8 images in
    display orientation, and the decoded-frame index of the first."""
    times: list[float] = []
    frames: list[av.VideoFrame] = []
    first = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base or Fraction(1, 90_000)
        start = container.start_time / av.time_base if container.start_time is not None else 0.0
        for n, frame in enumerate(container.decode(stream)):
            if frame.pts is None:
                continue
            t = float(frame.pts * tb) - start
            if t >= t1 and frames:
                break
            if t <= t0 + 1e-6:  # on screen at t0 (so far): the shot starts here
                times, frames, first = [], [], n
            times.append(t)
            frames.append(frame)
    images = [
        rotate_display(f.to_ndarray(format="rgb24"), int(round(getattr(f, "rotation", 0) or 0)) % 360)
        for f in frames
    ]
    return np.asarray(times), images, first


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Upscales (bicubic) to fit width x height with the aspect kept, centred on black."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = min(width, round(w * scale / 2) * 2), min(height, round(h * scale / 2) * 2)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    y, x = (height - nh) // 2, (width - nw) // 2
    out[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_CUBIC)
    return out


def _clip_audio(path: Path, t0: float, samples: int) -> np.ndarray:
    """float32 (2, samples) of the clip's audio from t0 at 44.1 kHz stereo; silence where it has none."""
    out = np.zeros((2, samples), dtype=np.float32)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return out
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        chunks = []
        for frame in container.decode(container.streams.audio[0]):
            for f in resampler.resample(frame):
                chunks.append(f.to_ndarray())
        for f in resampler.resample(None):
            chunks.append(f.to_ndarray())
    if not chunks:
        return out
    audio = np.concatenate(chunks, axis=1)
    a = round(t0 * SAMPLE_RATE)
    piece = audio[:, a : a + samples]
    out[:, : piece.shape[1]] = piece
    return out


def _audio_frame(pcm: np.ndarray, pts: int) -> av.AudioFrame:
    """pcm: float32 (2, n) -> a stereo fltp frame at 44.1 kHz starting at sample `pts`."""
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm), format="fltp", layout="stereo")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    return frame


def render_source(path: Path, spec: SourceSpec, shots: list[Shot], testmedia: Path) -> list[list[int]]:
    """Encodes the planned shots into `path`; returns, per shot, the input frame index shown at each frame."""
    settings = encoder_settings(spec)
    shown: list[list[int]] = []
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream(settings["encoder"], rate=Fraction(spec.fps))
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.time_base = Fraction(1, spec.fps)
        video.codec_context.options = dict(settings["options"])
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "stereo"
        audio.bit_rate = 128_000
        sample = written = 0  # audio samples planned / encoded
        pending = np.zeros((2, 0), dtype=np.float32)
        for shot in shots:
            t0, t1 = shot.input_start, shot.input_start + shot.frames / spec.fps
            times, images, first = _clip_frames(testmedia / shot.input, t0, t1)
            cache: dict[int, np.ndarray] = {}
            indices = []
            for k in range(shot.frames):
                i = max(0, int(np.searchsorted(times, t0 + k / spec.fps + 1e-6, side="right")) - 1)
                indices.append(first + i)
                if i not in cache:
                    cache = {i: _fit(images[i], spec.width, spec.height)}
                frame = av.VideoFrame.from_ndarray(cache[i], format="rgb24").reformat(format="yuv420p")
                frame.pts = shot.start_frame + k
                container.mux(video.encode(frame))
            shown.append(indices)
            end = round((shot.start_frame + shot.frames) * SAMPLE_RATE / spec.fps)
            pending = np.concatenate([pending, _clip_audio(testmedia / shot.input, t0, end - sample)], axis=1)
            sample = end
            while pending.shape[1] >= 1024:
                container.mux(audio.encode(_audio_frame(pending[:, :1024], written)))
                pending, written = pending[:, 1024:], written + 1024
        if pending.shape[1]:
            container.mux(audio.encode(_audio_frame(pending, written)))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return shown
