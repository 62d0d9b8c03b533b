"""CPU decoder on PyAV (FFmpeg): every container and codec FFmpeg reads, VFR and rotation aware."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import torch
from av.video.reformatter import VideoReformatter

from ._api import DecodeError, FrameSink, ScanConsumer, ScanResult, VideoMetadata
from ._scan_convert import SCAN_MODES, ScanConverter, scan_size

# Seek instead of decoding through a gap longer than this many frames (a GOP is usually 1-10 s).
SEEK_GAP_FRAMES = 250


def _open(path: str) -> av.container.InputContainer:
    if not os.path.exists(path):
        raise DecodeError("missing_file", f"{path} does not exist")
    if os.path.getsize(path) == 0:
        raise DecodeError("empty_file", f"{path} is 0 bytes")
    try:
        return av.open(path, metadata_errors="ignore")
    except av.error.InvalidDataError as exc:
        if _looks_like_text(path):
            raise DecodeError("not_a_video", f"{path} is a text file, not a media file") from exc
        raise DecodeError(
            "corrupt", f"{path}: FFmpeg cannot parse the container (truncated or damaged?) ({exc})"
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise DecodeError("unreadable", f"{path}: {exc}") from exc


def _looks_like_text(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(1024)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _rotation_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Counter-clockwise display rotation in degrees, from the first frame's display matrix."""
    try:
        for frame in container.decode(stream):
            rotation = int(round(getattr(frame, "rotation", 0) or 0))
            return rotation % 360
    except av.error.FFmpegError:
        return 0
    finally:
        container.seek(0)
    return 0


def probe(path: str) -> VideoMetadata:
    """Reads the container header (and the first frame's rotation); raises DecodeError with a reason."""
    container = _open(path)
    try:
        if not container.streams.video:
            raise DecodeError("no_video_stream", f"{path} has no video stream")
        stream = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        return VideoMetadata(
            path=path,
            codec=stream.codec_context.name,
            coded_width=stream.codec_context.width,
            coded_height=stream.codec_context.height,
            rotation=_rotation_of(container, stream),
            average_fps=float(stream.average_rate or stream.guessed_rate or 0),
            guessed_fps=float(stream.guessed_rate or stream.average_rate or 0),
            header_frames=int(stream.frames or 0),
            header_duration=duration,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_sample_rate=audio.codec_context.sample_rate if audio is not None else None,
            pix_fmt=stream.codec_context.pix_fmt or "",
            time_base=float(stream.time_base or 0),
            color_matrix=709
            if stream.codec_context.colorspace == 1
            else 601,  # FFmpeg: unspecified -> BT.601
            full_range=stream.codec_context.color_range == 2,
            start_time=container.start_time / av.time_base if container.start_time is not None else 0.0,
        )
    finally:
        container.close()


def rotate_display(image: np.ndarray, rotation: int) -> np.ndarray:
    """Applies a counter-clockwise display rotation (0/90/180/270) to an (H, W, C) image."""
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90)) if rotation else image


class PyAVDecoder:
    """VideoDecoder on the CPU; frames come back as torch uint8 tensors on the CPU."""

    name = "pyav-cpu"

    def __init__(self, path: str, threads: int = 0, scan_mode: str = "auto") -> None:
        if scan_mode not in SCAN_MODES:
            raise ValueError(f"unknown scan_mode {scan_mode!r}; allowed: {', '.join(SCAN_MODES)}")
        self.scan_mode = scan_mode  #: how scan() makes its small BGR frames (Note [Scan conversion])
        self.last_scan_mode = ""  #: the conversion the last scan() used ("rows" or "full")
        self.metadata = probe(path)
        self.device = torch.device("cpu")
        self._path = path
        self._threads = threads
        self._container = _open(path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        if threads:
            self._stream.codec_context.thread_count = threads
        self._t0 = self.metadata.start_time
        # one swscale context per thread (decode, model, export threads convert frames), kept between frames:
        # a new one per frame (`to_ndarray(format=...)`) costs a third of the conversion at 1080p
        self._reformatters = threading.local()

    def _decode(self) -> Iterator[av.VideoFrame]:
        try:
            yield from self._container.decode(self._stream)
        except av.error.EOFError:
            return
        except av.error.FFmpegError as exc:
            raise DecodeError("corrupt", f"{self._path}: decoding failed ({exc})") from exc

    def scan(
        self, small: tuple[int, int] | None, consumer: ScanConsumer, keep: FrameSink | None = None
    ) -> ScanResult:
        self._container.seek(0)  # a scan always covers the whole source
        started = time.perf_counter()
        times: list[float] = []
        pts: list[int] = []
        w, h = self.metadata.coded_width, self.metadata.coded_height
        convert = ScanConverter(w, h, scan_size(w, h, small), mode=self.scan_mode)
        tb = self._stream.time_base or Fraction(1, 90_000)
        rate = self.metadata.guessed_fps or 25.0
        for frame in self._decode():
            if frame.pts is None:
                continue
            if keep is not None:  # the frame object itself: converted to RGB only if a stage wants it
                keep(len(times), float(frame.pts * tb) - self._t0, frame)
            consumer(len(times), round(float(frame.pts * tb) * rate), convert(frame))
            pts.append(int(frame.pts))
            times.append(float(frame.pts * tb) - self._t0)
        if not times:
            raise DecodeError("corrupt", f"{self._path}: no frame could be decoded")
        self.last_scan_mode = convert.mode
        order = np.argsort(np.asarray(pts), kind="stable")  # B-frames come out in presentation order already
        return ScanResult(
            times=np.asarray(times, dtype=np.float64)[order],
            pts=np.asarray(pts, dtype=np.int64)[order],
            decode_seconds=time.perf_counter() - started,
        )

    def rgb(self, frame: av.VideoFrame) -> torch.Tensor:
        """A frame from `scan`'s sink -> RGB display orientation (what `frames` yields for it)."""
        reformatter = getattr(self._reformatters, "rgb", None)
        if reformatter is None:
            reformatter = self._reformatters.rgb = VideoReformatter()
        rgb = reformatter.reformat(frame, format="rgb24").to_ndarray()
        return torch.from_numpy(rotate_display(rgb, self.metadata.rotation))

    def frame_bytes(self, frame: av.VideoFrame) -> int:
        return sum(p.buffer_size for p in frame.planes)

    def frames(self, indices: np.ndarray, pts: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
        wanted = np.unique(np.asarray(indices, dtype=np.int64))
        pos = 0  # next position in `wanted`
        linear = False  # after a seek that skipped a wanted frame, decode from the start without seeking
        while pos < wanted.size:
            target = 0 if linear else int(wanted[pos])
            try:
                self._container.seek(int(pts[target]), stream=self._stream, backward=True, any_frame=False)
            except av.error.FFmpegError as exc:
                raise DecodeError("corrupt", f"{self._path}: seek failed ({exc})") from exc
            for frame in self._decode():
                index = int(np.searchsorted(pts, frame.pts)) if frame.pts is not None else -1
                if index < 0 or index >= len(pts) or pts[index] != frame.pts or index < wanted[pos]:
                    continue
                if index > wanted[pos]:
                    if linear:
                        raise DecodeError("corrupt", f"{self._path}: frame {wanted[pos]} is not decodable")
                    linear = True  # the seek landed past a wanted frame (open GOP): go linear
                    break
                yield index, self.rgb(frame)
                pos += 1
                if pos >= wanted.size:
                    return
                if not linear and wanted[pos] - index > SEEK_GAP_FRAMES:
                    break
            else:
                raise DecodeError("corrupt", f"{self._path}: stream ended before frame {wanted[pos]}")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> PyAVDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
