"""Cut one passing clip: frame-accurate H.264 MP4, 16 kHz mono WAV, first-frame PNG, WebVTT cues.

Every file is written under a temporary name and renamed into place, so a killed export leaves no
half-written clip behind a final name; a rerun rewrites it.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..clips import Clip
from ..decode import VideoDecoder
from ..segment import Cue, NoAudio, cues_in, load_audio_16k, load_cues

TIME_BASE = Fraction(1, 90_000)


@dataclass(frozen=True)
class ExportParams:
    crf: int = 18
    preset: str = "medium"


@dataclass(frozen=True)
class ExportedClip:
    video_path: str
    audio_path: str | None  #: None when the source has no audio
    first_frame_path: str
    subtitle_path: str | None  #: None when the source has no subtitles
    frames: int


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


def _write_video(
    decoder: VideoDecoder, pts: np.ndarray, clip: Clip, path: Path, first_png: Path, params: ExportParams
) -> int:
    h, w = decoder.metadata.height, decoder.metadata.width
    even_h, even_w = h - h % 2, w - w % 2  # 4:2:0 needs even sizes: drop a last odd row/column
    tmp = _tmp(path)
    frames = 0
    with av.open(str(tmp), mode="w", format="mp4") as out:
        rate = Fraction(clip.source.fps).limit_denominator(100_000) if clip.source.fps > 0 else Fraction(25)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = even_w, even_h, "yuv420p"
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"crf": str(params.crf), "preset": params.preset}
        indices = np.arange(clip.start_frame, clip.end_frame)
        for index, image in decoder.frames(indices, pts):
            rgb = image.cpu().numpy()[:even_h, :even_w]
            if frames == 0:
                tmp_png = _tmp(first_png)
                cv2.imwrite(str(tmp_png), np.ascontiguousarray(rgb[..., ::-1]))
                os.replace(tmp_png, first_png)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = int(
                round((clip.frame_times[index - clip.start_frame] - clip.frame_times[0]) / TIME_BASE)
            )
            frame.time_base = TIME_BASE
            for packet in stream.encode(frame):
                out.mux(packet)
            frames += 1
        for packet in stream.encode(None):
            out.mux(packet)
    os.replace(tmp, path)
    return frames


def _write_wav(samples: np.ndarray, path: Path) -> None:
    tmp = _tmp(path)
    with wave.open(str(tmp), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16_000)
        f.writeframes(samples.astype("<i2").tobytes())
    os.replace(tmp, path)


def _vtt_time(t: float) -> str:
    ms = int(round(t * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _write_vtt(cues: list[Cue], path: Path) -> None:
    body = "".join(f"{_vtt_time(c.start)} --> {_vtt_time(c.end)}\n{c.text}\n\n" for c in cues)
    tmp = _tmp(path)
    tmp.write_text("WEBVTT\n\n" + body, encoding="utf-8")
    os.replace(tmp, path)


def export_clip(
    decoder: VideoDecoder, pts: np.ndarray, clip: Clip, folder: Path, params: ExportParams
) -> ExportedClip:
    """Writes the clip's files into `folder` (created); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / clip.clip_id
    video, png = base.with_suffix(".mp4"), folder / f"{clip.clip_id}_first_frame.png"
    frames = _write_video(decoder, pts, clip, video, png, params)
    audio_path: str | None = None
    try:
        samples = load_audio_16k(clip.source.audio_path or clip.source.path, clip.start, clip.end)
        wav = base.with_suffix(".wav")
        _write_wav(samples, wav)
        audio_path = str(wav)
    except NoAudio:
        audio_path = None
    subtitle_path: str | None = None
    if clip.source.subtitle_path:
        try:
            cues = cues_in(load_cues(clip.source.subtitle_path), clip.start, clip.end)
        except ValueError:
            cues = []
        vtt = base.with_suffix(".vtt")
        _write_vtt(cues, vtt)
        subtitle_path = str(vtt)
    return ExportedClip(str(video), audio_path, str(png), subtitle_path, frames)
