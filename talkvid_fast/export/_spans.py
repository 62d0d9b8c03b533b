"""`--export spans`: passing clips as spans of their sources, no re-encode (the form TalkVid distributes).

Note [Span export]: TalkVid publishes its dataset as source URLs plus timestamps, not as video files. A
span record says where a clip is in its source and how it scored: id, source id and path, start/end time
(seconds from the start of the source, the manifest's `start`/`end`), start/end frame (decoded frame
indices, end exclusive), frame count, fps, resolution and every stage's scores. Nothing is decoded or
encoded, so export costs no GPU or CPU time; cutting the clips later (`ffmpeg -ss start -to end`) is the
user's. `spans.json` lists them, written atomically from the manifest like talkvid.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..clips import Clip
from ..manifest import Journal, RunFolder, write_atomic

SPANS_JSON = "spans.json"


def span_export(clip: Clip) -> dict[str, Any]:
    """What the clip record's `export` holds in span mode: where the clip is, nothing written."""
    return {
        "mode": "spans",
        "source_path": clip.source.path,
        "start": round(clip.start, 4),
        "end": round(clip.end, 4),
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "frames": clip.num_frames,
    }


def span_record(clip: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """One span in TalkVid's distribution form, from a clip record and its source record."""
    exported = clip["export"]
    return {
        "id": clip["clip_id"],
        "video-id": clip["source_id"],
        "source-path": exported["source_path"],
        "start-time": exported["start"],
        "end-time": exported["end"],
        "start-frame": exported["start_frame"],
        "end-frame": exported["end_frame"],
        "frames": exported["frames"],
        "duration": round(exported["end"] - exported["start"], 4),
        "fps": clip["fps"],
        "resolution": [clip["width"], clip["height"]],
        "metadata": dict(source.get("metadata") or {}),
        "scores": {
            stage: dict(result.get("scores") or {})
            for stage, result in clip.get("stages", {}).items()
            if result.get("scores")
        },
    }


def write_spans_json(journal: Journal | RunFolder, folder: Path) -> tuple[Path, int]:
    """The span-exported clips, less those a bench set holds out (`held_out.json`)."""
    from ._talkvid import held_out_ids

    held = held_out_ids(folder)
    records = [
        span_record(clip, source)
        for source, clips in journal.records()
        for clip in clips
        if (clip.get("export") or {}).get("mode") == "spans" and clip["clip_id"] not in held
    ]
    path = folder / SPANS_JSON
    write_atomic(path, json.dumps(records, indent=1, ensure_ascii=False).encode())
    return path, len(records)
