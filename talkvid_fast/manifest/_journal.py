"""The crash-safe, resumable record journal.

Note [Journal]: records are appended to `journal.jsonl` one source at a time: the source's clip records,
then its source record carrying `n_clips`, written with a single `write` on an O_APPEND descriptor and
fsync'd. On open, a batch is committed only if its source record is present and all its `n_clips` clip
records precede it; anything after the last committed batch (a torn write from a kill -9) is cut off
before new batches are appended. So a killed run loses at most the sources in flight, and a rerun neither
loses nor duplicates a record. Only the driver process writes; workers return records to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JOURNAL = "journal.jsonl"


class Journal:
    """Append-only store of committed per-source batches (see Note [Journal])."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.sources: dict[str, dict[str, Any]] = {}
        self.clips: dict[str, list[dict[str, Any]]] = {}
        self.dropped_bytes = 0
        folder.mkdir(parents=True, exist_ok=True)
        good_end = self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self._fd).st_size
        if size > good_end:
            self.dropped_bytes = size - good_end
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)

    def _load(self) -> int:
        """Reads committed batches; returns the byte offset just after the last committed one."""
        self.sources, self.clips, good_end = read_committed(self.path)
        return good_end

    def done(self, source_id: str) -> bool:
        return source_id in self.sources

    def append(self, source_record: dict[str, Any], clip_records: list[dict[str, Any]]) -> None:
        """Commits one source's batch (Note [Journal]); ignores a source already committed."""
        sid = source_record["source_id"]
        if sid in self.sources:
            return
        source_record = {**source_record, "kind": "source", "n_clips": len(clip_records)}
        lines = [json.dumps({**c, "kind": "clip", "source_id": sid}, default=_jsonable) for c in clip_records]
        lines.append(json.dumps(source_record, default=_jsonable))
        data = ("\n".join(lines) + "\n").encode()
        written = 0
        while written < len(data):  # a regular file takes it in one write; loop for safety
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)
        self.sources[sid] = source_record
        self.clips[sid] = clip_records

    def records(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        for sid, rec in self.sources.items():
            yield rec, self.clips[sid]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_committed(
    path: Path,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]], int]:
    """The committed batches of a journal file (Note [Journal]), read only: (sources, clips by source,
    byte offset just after the last committed batch). Readers such as the report use it on a live folder."""
    sources: dict[str, dict[str, Any]] = {}
    clips: dict[str, list[dict[str, Any]]] = {}
    if not path.exists():
        return sources, clips, 0
    good_end = 0
    offset = 0
    pending: dict[str, list[dict[str, Any]]] = {}
    with path.open("rb") as f:
        for raw in f:
            offset += len(raw)
            if not raw.endswith(b"\n"):
                break  # torn last line
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                break
            sid = record.get("source_id")
            if record.get("kind") == "clip":
                pending.setdefault(sid, []).append(record)
            elif record.get("kind") == "source":
                batch = pending.pop(sid, [])
                if len(batch) != record.get("n_clips") or sid in sources:
                    break  # an inconsistent batch: treat everything from here as torn
                sources[sid] = record
                clips[sid] = batch
                good_end = offset
    return sources, clips, good_end


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def write_atomic(path: Path, data: bytes) -> None:
    """Writes `path` via a temp file, fsync and rename, so readers never see a partial file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
