"""From scenes to virtual clips: trims, the minimum-duration rule and deterministic clip ids (spec stage 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..clips import Clip, SourceInfo


@dataclass(frozen=True)
class SpanRule:
    start_trim: float = 0.3
    end_trim: float = 0.1
    min_duration: float = 5.0
    round_duration: bool = False  #: official: compare round(duration, 1) > min_duration


def scene_bounds_seconds(
    times: np.ndarray, start_frame: int, end_frame: int, fps: float
) -> tuple[float, float]:
    """Start and end of the scene [start_frame, end_frame) in seconds: the start frame's time and the time
    at which the frame after the scene would start (the last frame's time + its duration)."""
    start = float(times[start_frame])
    if end_frame < len(times):
        end = float(times[end_frame])
    else:
        step = float(np.median(np.diff(times[-8:]))) if len(times) > 1 else 1.0 / max(fps, 1e-6)
        end = float(times[-1]) + step
    return start, end


def official_rounded_duration(scene_start: float, scene_end: float, rule: SpanRule) -> float:
    """The official `durations` value of a scene (Note [Official clock] in clips.py): find_scenes_new adds
    0.4 (= start_trim + end_trim) to the start, then subtracts 0.1 (end_trim) from both ends, clamped at 0,
    and rounds end - start to one decimal; the operation order decides ties such as 6.85 on a 24 fps grid."""
    start = max(0.0, scene_start + (rule.start_trim + rule.end_trim) - rule.end_trim)
    end = max(0.0, scene_end - rule.end_trim)
    return round(end - start, 1)


def keep_duration(clip: Clip, rule: SpanRule) -> bool:
    value = clip.official_duration if rule.round_duration else clip.duration
    return value > rule.min_duration


def clips_from_scenes(
    source: SourceInfo, scenes: list[tuple[int, int]], times: np.ndarray, rule: SpanRule
) -> list[tuple[Clip, bool]]:
    """Every scene becomes a trimmed clip; returns (clip, passes the minimum-duration rule) for each.

    Clip ids count every scene from 1, so a rerun or a changed threshold gives the same ids.
    """
    return [clip_of_scene(source, n, a, b, times, rule) for n, (a, b) in enumerate(scenes, start=1)]


def clip_of_scene(
    source: SourceInfo, n: int, a: int, b: int, times: np.ndarray, rule: SpanRule
) -> tuple[Clip, bool]:
    """Scene n (from 1), decoded frames [a, b), as a trimmed clip, and whether it passes the duration rule.

    `times` must reach frame b (the frame after the scene) unless the scene ends the source."""
    scene_start, scene_end = scene_bounds_seconds(times, a, b, source.fps)
    start = scene_start + rule.start_trim
    end = max(0.0, scene_end - rule.end_trim)
    end = max(start, end)
    first = int(np.searchsorted(times, start, side="left"))
    last = int(np.searchsorted(times, end, side="left"))  # exclusive: frames with time < end
    clip = Clip(
        clip_id=f"{source.source_id}-scene{n}",
        source=source,
        scene_index=n,
        start=start,
        end=end,
        start_frame=first,
        end_frame=last,
        frame_times=np.ascontiguousarray(times[first:last]),
        rounded_duration=official_rounded_duration(scene_start, scene_end, rule),
    )
    return clip, keep_duration(clip, rule) and last > first
