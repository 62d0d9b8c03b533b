"""The TalkVid data format (spec, Output) for exported clips, written as one JSON list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..manifest import Journal, RunFolder, write_atomic

TALKVID_JSON = "talkvid.json"
HELD_OUT_JSON = "held_out.json"  #: clip id -> the bench set holding it out of training (evalset)


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


def held_out_ids(folder: Path) -> set[str]:
    path = Path(folder) / HELD_OUT_JSON
    return set(json.loads(path.read_text())) if path.is_file() else set()


def write_talkvid_json(journal: Journal | RunFolder, folder: Path) -> tuple[Path, int]:
    """The exported clips, less those a bench set holds out (`held_out.json`)."""
    held = held_out_ids(folder)
    records = [
        talkvid_record(clip, source)
        for source, clips in journal.records()
        for clip in clips
        if clip.get("export")
        and clip["export"].get("mode", "media") == "media"
        and clip["clip_id"] not in held
    ]
    path = folder / TALKVID_JSON
    write_atomic(path, json.dumps(records, indent=1, ensure_ascii=False).encode())
    return path, len(records)


def hold_out(run: RunFolder, clip_ids: list[str], bench: str) -> None:
    """Marks `clip_ids` held out for `bench` (replacing that bench's earlier marks) and rewrites
    talkvid.json (and spans.json, when the run wrote one) without them."""
    path = run.folder / HELD_OUT_JSON
    marks: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    marks = {k: v for k, v in marks.items() if v != bench}
    marks.update({c: bench for c in clip_ids})
    write_atomic(path, json.dumps(marks, indent=1, sort_keys=True).encode())
    if (run.folder / TALKVID_JSON).is_file():
        write_talkvid_json(run, run.folder)
    from ._spans import SPANS_JSON, write_spans_json

    if (run.folder / SPANS_JSON).is_file():
        write_spans_json(run, run.folder)
