"""The manifest records (spec, Output): one per source, one per clip."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..clips import Clip, SourceInfo
from ..decode import VideoMetadata
from ..segment import ClipVerdict
from ..stages import StageResult


def source_record(
    fields: dict[str, Any], meta: VideoMetadata | None, source: SourceInfo | None
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "source_id": str(fields["video-id"]),
        "path": str(fields["video-path"]),
        "audio_path": fields.get("audio-path"),
        "subtitle_path": fields.get("subtitle-path"),
        "description_path": fields.get("description-path"),
        "metadata": {
            k: v
            for k, v in fields.items()
            if k not in {"video-id", "video-path", "audio-path", "subtitle-path", "description-path"}
        },
        "status": "ok",
        "errors": [],
    }
    if meta is not None:
        rec["probe"] = {
            "codec": meta.codec,
            "width": meta.width,
            "height": meta.height,
            "rotation": meta.rotation,
            "pix_fmt": meta.pix_fmt,
            "audio_codec": meta.audio_codec,
            "audio_sample_rate": meta.audio_sample_rate,
        }
    if source is not None:
        rec["probe"].update(
            duration=round(source.duration, 4), fps=round(source.fps, 4), frames=source.num_frames
        )
    return rec


def crashed_record(fields: dict[str, Any], attempts: int, what: str) -> dict[str, Any]:
    """The source record of a source whose worker (`what`: "worker process", "Ray actor") kept dying."""
    rec = source_record(fields, None, None)
    rec["status"] = "error"
    rec["errors"] = [
        {"reason": "worker_crashed", "detail": f"a {what} died {attempts} times with this source in flight"}
    ]
    return rec


def clip_record(verdict: ClipVerdict, profile: str, detector: str) -> dict[str, Any]:
    clip: Clip = verdict.clip
    return {
        "clip_id": clip.clip_id,
        "source_id": clip.source.source_id,
        "source_path": clip.source.path,
        "scene_index": clip.scene_index,
        "start": round(clip.start, 4),
        "end": round(clip.end, 4),
        "duration": round(clip.duration, 4),
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "frames": clip.num_frames,
        "fps": round(clip.source.fps, 4),
        "width": clip.source.width,
        "height": clip.source.height,
        "profile": profile,
        "gates": dict(verdict.gates),
        "stages": {
            "segment": {"scores": dict(verdict.scores), "detector": detector, "passed": verdict.passed}
        },
        "stages_not_run": [],
        "passed": verdict.passed,
        "first_failed_gate": verdict.failed_gate,
        "errors": {},
    }


def add_stage_result(rec: dict[str, Any], stage: str, result: StageResult, seconds: float) -> None:
    rec["stages"][stage] = {**dataclasses.asdict(result), "seconds": round(seconds, 4)}
    if result.error is not None:
        rec["errors"][stage] = result.error
        rec["gates"][stage] = False
        verdict = False
    else:
        rec["gates"][stage] = result.passed
        verdict = result.passed
    if not verdict:
        rec["passed"] = False
        if rec["first_failed_gate"] is None:
            rec["first_failed_gate"] = (
                f"{stage}:{result.failed_gate or ('error' if result.error else 'failed')}"
            )


def add_stage_not_run(rec: dict[str, Any], stage: str, reason: str) -> None:
    rec["stages"][stage] = {"status": "not_run", "reason": reason}
    rec["stages_not_run"].append(stage)
