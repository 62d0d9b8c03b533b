"""Stage 1 (`official` profile) on the shared test media, and what the official code would be told about
each clip, for the tests that run TalkVid's own motion and head code on the same clips.

What the official code is told, computed here independently of talkvid_fast's `Clip.official_*`:
- the frame rate: the container's avg_frame_rate read directly with PyAV (what decord's `get_avg_fps`
  returns; OpenCV's `CAP_PROP_FPS`, which the head filter reads, is checked to be the same number);
- the `durations` string: find_scenes_new's own lines (utils/utils.py) applied to stage 1's scene times:
  start = scene start + 0.4; start = max(0, start - 0.1); end = max(0, scene end - 0.1);
  f"{round(end - start, 1)}s" (tests/segment/test_official_stage1.py checks the scene times themselves
  against find_scenes_new);
- the clip file's frames: the clip's decoded frames, in order (the clip is virtual here; decord's index i
  of the re-encoded clip is the clip's frame i).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import cv2

from talkvid_fast.clips import Clip
from talkvid_fast.decode import DecodeError, PyAVDecoder
from talkvid_fast.profile import load_profile
from talkvid_fast.segment._spans import scene_bounds_seconds
from talkvid_fast.segment._stage import SegmentParams, segment_source

#: a quick subset (about 5 s of CPU for stage 1) that holds every case the official clock changes:
#: 30 fps files whose frames / duration is 29.999999999999996 or 30.000000000000004, durations such as
#: 6.8 s, 29.97 fps with 9 scenes, a VFR source, a 29.97 fps file with dropped frames, 28 and 24 fps
QUICK = (
    "positives/liveportrait__d18.mp4",
    "positives/liveportrait__d19.mp4",
    "positives/liveportrait__d13.mp4",
    "positives/liveportrait__d9.mp4",
    "multishot/pyscenedetect__testvideo.mp4",
    "positives/retalking__face1.mp4",
    "negatives/dover__17734.mp4",
    "negatives/open-mmlab__mmaction2_demo.mp4",
    "generated/antgroup__echomimic_driven_a.mp4",
)


@dataclass(frozen=True)
class OfficialClip:
    clip: Clip
    avg_fps: float  #: the container's avg_frame_rate
    durations: str  #: stage 1's `durations` string as find_scenes_new writes it


def every_video(testmedia: Path) -> tuple[str, ...]:
    files = [m["file"] for m in json.loads((testmedia / "manifest.json").read_text())]
    return tuple(f for f in files if not f.endswith(".csv"))


@cache
def official_clips(testmedia: Path, files: tuple[str, ...]) -> list[OfficialClip]:
    """Every clip stage 1 makes from `files` (passing or not: the selection rules apply to any clip)."""
    params = SegmentParams.from_profile(load_profile("official").section("segment"))
    out = []
    for name in files:
        path = testmedia / name
        try:
            with PyAVDecoder(str(path)) as dec:
                result = segment_source(dec, {"video-id": path.stem}, params)
        except DecodeError:
            continue  # the 0-byte file
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
        avg = float(rate) if rate else 0.0
        capture = cv2.VideoCapture(str(path))
        # the head filter reads OpenCV's CAP_PROP_FPS, the motion filter decord's get_avg_fps: both are
        # avg_frame_rate (checked here for OpenCV; decord is not installable here)
        assert capture.get(cv2.CAP_PROP_FPS) == avg, name
        capture.release()
        for (a, b), v in zip(result.scenes, result.verdicts, strict=True):
            s, e = scene_bounds_seconds(result.scan.times, a, b, result.source.fps)
            start_time = s + 0.4
            start_time = max(0, start_time - 0.1)
            end_time = max(0, e - 0.1)
            out.append(OfficialClip(v.clip, avg, f"{round(end_time - start_time, 1)}s"))
    return out
