"""What to process: a folder of videos, one video, or a manifest (JSON list, JSONL or CSV)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

VIDEO_SUFFIXES = {
    ".mp4",
    ".mkv",
    ".mov",
    ".webm",
    ".avi",
    ".m4v",
    ".flv",
    ".ts",
    ".mts",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".3gp",
}
MANIFEST_SUFFIXES = {".json", ".jsonl", ".csv"}


class InputError(ValueError):
    """The input cannot be read at all (the run cannot start)."""


def _records_from_manifest(path: Path) -> list[dict[str, Any]]:
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                rows: list[dict[str, Any]] = [dict(r) for r in csv.DictReader(f)]
        elif path.suffix == ".jsonl":
            rows = [
                json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data if isinstance(data, list) else [data]
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"manifest {path} cannot be parsed: {exc}") from exc
    base = path.parent
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("video-path"):
            raise InputError(f"manifest {path}, record {i}: every record needs a 'video-path'")
        row = {k: v for k, v in row.items() if v not in (None, "")}
        for key in ("video-path", "audio-path", "subtitle-path", "description-path"):
            if key in row and not os.path.isabs(str(row[key])):
                row[key] = str(base / str(row[key]))
        out.append(row)
    return out


def _sidecar(video: Path, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        candidate = video.with_suffix(suffix)
        if candidate.is_file():
            return str(candidate)
    return None


def _records_from_folder(folder: Path) -> list[dict[str, Any]]:
    videos = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    records = []
    for video in videos:
        record: dict[str, Any] = {"video-path": str(video), "_relative": str(video.relative_to(folder))}
        subtitle = _sidecar(video, (".vtt", ".srt"))
        if subtitle:
            record["subtitle-path"] = subtitle
        records.append(record)
    return records


def _assign_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """video-id: the record's own, else the file stem, else (on a clash) the relative path joined with '__'."""
    stems: dict[str, int] = {}
    for r in records:
        stem = Path(str(r["video-path"])).stem
        stems[stem] = stems.get(stem, 0) + 1
    seen: set[str] = set()
    for r in records:
        relative = r.pop("_relative", None)
        vid = r.get("video-id") or r.get("id")
        if not vid:
            stem = Path(str(r["video-path"])).stem
            vid = (
                stem
                if stems[stem] == 1 or relative is None
                else str(Path(relative).with_suffix("")).replace(os.sep, "__")
            )
        vid = str(vid)
        if vid in seen:
            raise InputError(f"duplicate video-id {vid!r}: every source needs a distinct id")
        seen.add(vid)
        r["video-id"] = vid
    return records


def discover(input_path: str) -> list[dict[str, Any]]:
    """Input records with at least `video-id` and `video-path`; raises InputError if nothing can be run."""
    path = Path(input_path)
    if path.is_dir():
        records = _records_from_folder(path)
        if not records:
            raise InputError(f"no videos in {path} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    elif path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        records = _records_from_manifest(path)
        if not records:
            raise InputError(f"manifest {path} has no records")
    elif path.is_file():
        records = [{"video-path": str(path)}]
        subtitle = _sidecar(path, (".vtt", ".srt"))
        if subtitle:
            records[0]["subtitle-path"] = subtitle
    else:
        raise InputError(
            f"input {path} does not exist (give a folder, a video, or a .json/.jsonl/.csv manifest)"
        )
    return _assign_ids(records)
