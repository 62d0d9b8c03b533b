"""Cut one passing clip: frame-accurate H.264 MP4, 16 kHz mono WAV, first-frame PNG, WebVTT cues.

Every file is written under a temporary name and renamed into place, so a killed export leaves no
half-written clip behind a final name; a rerun rewrites it. With an `EncodePool` (Note [Export pool]) the
caller's thread only decodes and stages the frames; x264, the WAV, PNG and VTT are written in the pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from ..clips import Clip
from ..decode import VideoDecoder
from ..segment import Cue, NoAudio, cues_in, load_audio_16k, load_cues, write_wav_16k
from ._encode import ENCODERS, EncodePool, FrameWriter, select_encoder

TIME_BASE = Fraction(1, 90_000)
EXPORT_MODES = ("media", "spans")


@dataclass(frozen=True)
class ExportParams:
    crf: int = 18
    preset: str = "medium"
    mode: str = "media"  #: media (cut and encode the clips) | spans (Note [Span export]: no re-encode)
    encoder: str = "auto"  #: auto (NVENC where the GPU has it, else x264) | x264 | nvenc
    encode_workers: int = 2  #: x264 threads of the pool (Note [Export pool])

    def __post_init__(self) -> None:
        if self.mode not in EXPORT_MODES:
            raise ValueError(f"unknown export mode {self.mode!r}; allowed: {', '.join(EXPORT_MODES)}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; allowed: {', '.join(ENCODERS)}")
        if self.encode_workers < 1:
            raise ValueError(f"encode_workers must be >= 1, got {self.encode_workers}")


@dataclass(frozen=True)
class ExportedClip:
    video_path: str
    audio_path: str | None  #: None when the source has no audio
    first_frame_path: str
    subtitle_path: str | None  #: None when the source has no subtitles
    frames: int


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


def _even(decoder: VideoDecoder) -> tuple[int, int]:
    h, w = decoder.metadata.height, decoder.metadata.width
    return h - h % 2, w - w % 2  # 4:2:0 needs even sizes: drop a last odd row/column


def _x264_writer(
    clip: Clip, size: tuple[int, int], path: Path, first_png: Path, params: ExportParams
) -> tuple[FrameWriter, Callable[[], int]]:
    """write(rgb, n) for the clip's n-th frame (timed by the clip's frame times), close() -> frames."""
    tmp = _tmp(path)
    out = av.open(str(tmp), mode="w", format="mp4")
    rate = Fraction(clip.source.fps).limit_denominator(100_000) if clip.source.fps > 0 else Fraction(25)
    stream: Any = out.add_stream("libx264", rate=rate)
    stream.height, stream.width = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = TIME_BASE
    stream.options = {"crf": str(params.crf), "preset": params.preset}
    count = [0]

    def write(rgb: np.ndarray, n: int) -> None:
        if n == 0:
            tmp_png = _tmp(first_png)
            cv2.imwrite(str(tmp_png), np.ascontiguousarray(rgb[..., ::-1]))
            os.replace(tmp_png, first_png)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = int(round((clip.frame_times[n] - clip.frame_times[0]) / TIME_BASE))
        frame.time_base = TIME_BASE
        for packet in stream.encode(frame):
            out.mux(packet)
        count[0] += 1

    def close() -> int:
        for packet in stream.encode(None):
            out.mux(packet)
        out.close()
        os.replace(tmp, path)
        return count[0]

    return write, close


def _write_video(
    decoder: VideoDecoder, pts: np.ndarray, clip: Clip, path: Path, first_png: Path, params: ExportParams
) -> int:
    write, close = _x264_writer(clip, _even(decoder), path, first_png, params)
    even_h, even_w = _even(decoder)
    for index, image in decoder.frames(np.arange(clip.start_frame, clip.end_frame), pts):
        write(image.cpu().numpy()[:even_h, :even_w], index - clip.start_frame)
    return close()


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
    return _side_files(clip, folder, video, png, frames)


def export_clip_async(
    decoder: VideoDecoder,
    pts: np.ndarray,
    clip: Clip,
    folder: Path,
    params: ExportParams,
    pool: EncodePool,
    frames: Iterator[tuple[int, torch.Tensor]] | None = None,
) -> Future[ExportedClip]:
    """Decodes and stages the clip's frames in this thread; x264 and the side files run in `pool`
    (Note [Export pool]). NVENC, where `params.encoder` selects it, encodes the device frames here.

    `frames`: the clip's frames as `decoder.frames` would yield them, already decoded (the scene buffer's,
    Note [Export from the scan]); then `decoder` only gives their geometry and device."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / clip.clip_id
    video, png = base.with_suffix(".mp4"), folder / f"{clip.clip_id}_first_frame.png"
    size = _even(decoder)
    if frames is None:
        frames = decoder.frames(np.arange(clip.start_frame, clip.end_frame), pts)
    if select_encoder(params.encoder, decoder.device) == "nvenc":
        from ._nvenc import write_nvenc

        done: Future[ExportedClip] = Future()
        n = write_nvenc(frames, clip, size, video, png, decoder.device)
        done.set_result(_side_files(clip, folder, video, png, n))
        return done

    def open_writer() -> tuple[FrameWriter, Callable[[], ExportedClip]]:
        write, close = _x264_writer(clip, size, video, png, params)
        return write, lambda: _side_files(clip, folder, video, png, close())

    return pool.encode(frames, size, decoder.device.type == "cuda", open_writer)


def _side_files(clip: Clip, folder: Path, video: Path, png: Path, frames: int) -> ExportedClip:
    """The WAV, the VTT and the result record of a clip whose MP4 and PNG are written."""
    base = folder / clip.clip_id
    audio_path: str | None = None
    try:
        samples = load_audio_16k(clip.source.audio_path or clip.source.path, clip.start, clip.end)
        wav = base.with_suffix(".wav")
        write_wav_16k(wav, samples)
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


def export_clips(
    decoder: VideoDecoder | None,
    pts: np.ndarray,
    clips: list[Clip],
    folder: Path,
    params: ExportParams,
    pool: EncodePool | None,
) -> list[tuple[Clip, ExportedClip | dict[str, Any]]]:
    """Exports a source's passing clips: spans (no decode) or media. With a pool, clip i+1 is decoded while
    clip i encodes (Note [Export pool]); the call returns when every clip's files are in place."""
    if params.mode == "spans":
        from ._spans import span_export

        return [(clip, span_export(clip)) for clip in clips]
    if decoder is None:
        raise ValueError("media export needs a decoder (only `--export spans` decodes nothing)")
    if pool is None:
        return [(clip, export_clip(decoder, pts, clip, folder, params)) for clip in clips]
    futures = [(clip, export_clip_async(decoder, pts, clip, folder, params, pool)) for clip in clips]
    return [(clip, future.result()) for clip, future in futures]
