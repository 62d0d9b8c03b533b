"""The TalkVid data format (spec, Output) for exported clips, written as one JSON list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..manifest import Journal, write_atomic

TALKVID_JSON = "talkvid.json"


def talkvid_record(clip: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """One exported clip in the TalkVid format: {id, video-id, video-path, audio-path, ..., metadata}."""
    exported = clip["export"]
    extra = dict(source.get("metadata") or {})
    quality = (clip.get("stages", {}).get("quality") or {}).get("scores", {})
    metadata = {
        "duration": round(clip["duration"], 3),
        "resolution": [clip["width"], clip["height"]],
        "fps": clip["fps"],
        "start-time": round(clip["start"], 3),
        "end-time": round(clip["end"], 3),
        "source-path": source["path"],
        "language": extra.pop("language", None),
        "speaker_id": extra.pop("speaker_id", None),
        **extra,
        "quality_score": quality.get("dover_score"),
        "stages_not_run": clip.get("stages_not_run", []),
    }
    return {
        "id": clip["clip_id"],
        "video-id": clip["source_id"],
        "video-path": exported["video_path"],
        "audio-path": exported["audio_path"] or "",
        "description-path": source.get("description_path") or "",
        "subtitle-path": exported["subtitle_path"] or "",
        "first-frame-path": exported["first_frame_path"],
        "metadata": metadata,
    }


def write_talkvid_json(journal: Journal, folder: Path) -> tuple[Path, int]:
    records = [
        talkvid_record(clip, source)
        for source, clips in journal.records()
        for clip in clips
        if clip.get("export") and clip["export"].get("mode", "media") == "media"
    ]
    path = folder / TALKVID_JSON
    write_atomic(path, json.dumps(records, indent=1, ensure_ascii=False).encode())
    return path, len(records)
