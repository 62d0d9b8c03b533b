"""What stage 1 produces and every later stage reads: sources and their virtual clips."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SourceInfo:
    """Probe facts of one input video (display geometry: rotation already applied)."""

    source_id: str  #: the `video-id`: a stable name for the source
    path: str  #: path of the video file
    duration: float  #: seconds, from the decoded frame timestamps
    width: int  #: display width in pixels (after rotation)
    height: int  #: display height in pixels (after rotation)
    fps: float  #: average frame rate (frames / duration)
    num_frames: int  #: decoded frames
    rotation: int  #: degrees applied to get the display orientation (0, 90, 180, 270)
    video_codec: str
    audio_codec: str | None  #: None when the file has no audio stream
    audio_path: str | None = None  #: separate audio file, when the input names one
    subtitle_path: str | None = None
    description_path: str | None = None
    extra: dict[str, object] = field(default_factory=dict)  #: user metadata, carried to the output


@dataclass(frozen=True)
class Clip:
    """A virtual clip: a span [start, end) of a source, nothing re-encoded.

    Frame numbers index the source's decoded frames; `frame_times` are the presentation times of the
    clip's frames in seconds from the start of the source (VFR-exact, from the decode in stage 1).
    """

    clip_id: str  #: `{video-id}-scene{n}`, stable across reruns
    source: SourceInfo
    scene_index: int  #: n, counting every detected scene from 1
    start: float  #: trimmed start, seconds in the source
    end: float  #: trimmed end, seconds in the source
    start_frame: int  #: first source frame with time >= start
    end_frame: int  #: one past the last source frame with time < end
    frame_times: np.ndarray  #: float64 (end_frame - start_frame,), seconds in the source

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame
