"""What stage 1 produces and every later stage reads: sources and their virtual clips.

Note [Official clock]: the published TalkVid code does not time a clip by its decoded frames. Its motion
and head filters read the frame rate the container states (decord's `get_avg_fps`, OpenCV's
`CAP_PROP_FPS`: FFmpeg's avg_frame_rate, exactly 30.0 for a 30 fps file, where frames / duration gives
29.999999999999996), and the motion filter reads the clip duration from stage 1's `durations` string,
`round(end - start, 1)` with start = max(0, scene start + 0.4 - 0.1) and end = max(0, scene end - 0.1)
computed in that order. `Clip.official_fps` and `Clip.official_duration` are those two numbers (on the
source's container, since our clips are virtual: for a VFR source the official code would read the
re-encoded clip's own average rate instead); the `official` selections use them and nothing else, and the
`paper` ones keep exact timestamps.
"""

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
    #: the container's average frame rate (FFmpeg's avg_frame_rate: what decord's get_avg_fps and OpenCV's
    #: CAP_PROP_FPS report, the rate the official code reads); 0 when unknown. Note [Official clock]
    average_fps: float = 0.0


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
    #: the official code's `durations` value: round(end - start, 1) in its own operation order (stage 1 sets
    #: it; None on a hand-made clip, read as round(duration, 1)). Note [Official clock]
    rounded_duration: float | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def official_duration(self) -> float:
        """The duration the official code passes on (`float("6.8s".rstrip("s"))`), Note [Official clock]."""
        return self.rounded_duration if self.rounded_duration is not None else round(self.duration, 1)

    @property
    def official_fps(self) -> float:
        """The frame rate the official code reads (the container's average rate), Note [Official clock].

        Falls back to frames / duration when the probe found no rate at all (it already falls back from
        avg_frame_rate to FFmpeg's guessed rate)."""
        return self.source.average_fps if self.source.average_fps > 0 else self.source.fps

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame
