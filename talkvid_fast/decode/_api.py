"""The decode interface shared by the CPU (PyAV) and GPU (NVDEC) decoders.

Note [Decode passes]: every frame of a source is decoded once. `scan` reads every frame, hands the scene
detector its small BGR image and records the frame's exact presentation time; with a `keep` sink it also
hands over the decoded frame itself (still in the decoder's own layout: an `av.VideoFrame` on the CPU, an
NV12 surface copy on the GPU, 1.5 bytes a pixel), and the pipeline's scene buffer
(`decode/_scene_buffer.py`, Note [Scene buffer]) holds the frames of the scenes not yet resolved. When the
detector closes a scene, the filter stages' views (FrameRequest) are converted from the buffered frames
(`rgb`, then `gather_views`) and the scene's frames are dropped; with media export, a passing clip's frames
stay until the clip is exported (Note [Export from the scan]). The one exception is a scene that does not
fit the buffer's byte budget: its frames are evicted, and its clips' requested frames are decoded again by
`frames` (seeking over gaps), which is recorded on the clip (`decode.views = "redecoded"`,
`export.frames_from = "redecoded"`) and the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch


class DecodeError(Exception):
    """A source could not be decoded. `reason` is a short code recorded in the manifest."""

    REASONS = ("missing_file", "empty_file", "not_a_video", "no_video_stream", "corrupt", "unreadable")

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VideoMetadata:
    """What the container says, before a full decode; geometry in coded and display orientation."""

    path: str
    codec: str
    coded_width: int
    coded_height: int
    rotation: int  #: counter-clockwise degrees applied for display: 0, 90, 180 or 270
    average_fps: float  #: container's average rate (0 when unknown)
    guessed_fps: float  #: FFmpeg's guess of the nominal rate (the frame grid scenedetect numbers frames on)
    header_frames: int  #: frame count from the header (0 when unknown)
    header_duration: float  #: seconds from the header (0 when unknown)
    audio_codec: str | None
    audio_sample_rate: int | None
    pix_fmt: str
    time_base: float = 0.0  #: seconds per pts tick of the video stream
    color_matrix: int = 601  #: YUV->RGB matrix (601 or 709), FFmpeg's choice for this stream
    full_range: bool = False  #: JPEG (0-255) range instead of video (16-235) range
    start_time: float = 0.0  #: container start in seconds; frame times count from it (ScanResult.times)

    @property
    def width(self) -> int:
        return self.coded_height if self.rotation in (90, 270) else self.coded_width

    @property
    def height(self) -> int:
        return self.coded_width if self.rotation in (90, 270) else self.coded_height


@dataclass(frozen=True)
class ScanResult:
    """Pass 1's output: the frame timeline of the whole source."""

    times: np.ndarray  #: float64 (N,), seconds from the start of the file, one per decoded frame
    pts: np.ndarray  #: int64 (N,), stream pts of each frame (for seeking in pass 2)
    decode_seconds: float  #: wall time spent decoding and converting


class ScanConsumer(Protocol):
    """Receives each frame of pass 1 as a small BGR image (the scene detector).

    `index` counts decoded frames from 0; `number` is the frame's position on the stream's nominal frame
    grid, round(presentation time * guessed frame rate), which is how scenedetect numbers frames (they
    differ on VFR sources and sources that do not start at 0).
    """

    def __call__(self, index: int, number: int, small_bgr: np.ndarray) -> None: ...


class FrameSink(Protocol):
    """Receives every decoded frame of `scan` (Note [Decode passes]): its index, presentation time in seconds
    from the start of the file, and the decoder's own frame object (turned into RGB by `VideoDecoder.rgb`).
    Called before the scan consumer sees the same frame."""

    def __call__(self, index: int, seconds: float, frame: Any) -> None: ...


class VideoDecoder(Protocol):
    """A decoder of one source on one device (see Note [Decode passes])."""

    metadata: VideoMetadata
    device: torch.device
    name: str  #: "pyav-cpu", "nvdec-cuda:0", ...

    def scan(
        self, small: tuple[int, int] | None, consumer: ScanConsumer, keep: FrameSink | None = None
    ) -> ScanResult:
        """Decodes every frame once; hands `consumer` each frame in coded orientation, resized to
        `small` = (width, height) (bilinear, like scenedetect's downscale; `segment.small_size` gives
        scenedetect's own size) or whole when `small` is None or the coded size, and `keep` (when given) the
        decoded frame; returns the timeline. Frames come in presentation order."""
        ...

    def rgb(self, frame: Any) -> torch.Tensor:
        """A frame handed to `keep` -> RGB uint8 (H, W, 3) display orientation on `device`, the same pixels
        `frames` yields for it."""
        ...

    def frame_bytes(self, frame: Any) -> int:
        """Bytes a frame handed to `keep` holds (what the scene buffer counts against its budget)."""
        ...

    def frames(self, indices: np.ndarray, pts: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
        """Yields (index, RGB uint8 (H, W, 3) display-orientation tensor on `device`) for the sorted
        unique frame `indices`, using pass 1's `pts` to seek; each frame is yielded once."""
        ...

    def close(self) -> None: ...
