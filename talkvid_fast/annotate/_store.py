"""annotations.jsonl: the run-side, append-only record of every clip's annotation (Note [Annotation journal]).

Note [Annotation journal]: one JSON line per finished clip (annotated, or failed with the reason), written
next to the run's journal.jsonl with a single `write` on an O_APPEND descriptor and fsync'd, by one writer
thread, as soon as the clip's reply is validated. On open, a torn last line (a kill -9 mid-write) is cut off,
as the run's journal does (Note [Journal]). A clip whose line is committed with the same cache key (prompt,
model, frames, image options) is never requested again, so a rerun pays nothing twice; after a kill, only
the requests in flight (at most --concurrency) are sent again. Later lines of a clip supersede earlier ones
(a failed clip annotated by a later run); `clip_annotations` reads the latest successful one.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from ..manifest._journal import _jsonable

ANNOTATIONS = "annotations.jsonl"


def read_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The committed records of an annotations file and the byte offset after the last good line."""
    records: list[dict[str, Any]] = []
    good_end = 0
    if not path.exists():
        return records, 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError:
                break
            if not isinstance(rec, dict) or "clip_id" not in rec:
                break
            records.append(rec)
            good_end += len(raw)
    return records, good_end


class AnnotationStore:
    """The append-only annotations file of one run folder (Note [Annotation journal])."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / ANNOTATIONS
        records, good_end = read_lines(self.path)
        self.latest: dict[str, dict[str, Any]] = {}
        self._ok_keys: dict[str, set[str]] = {}  #: cache keys each clip has a successful line for
        for rec in records:
            self._note(rec)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self._fd).st_size
        self.dropped_bytes = size - good_end
        if self.dropped_bytes:
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)
        self._lock = threading.Lock()

    def _note(self, rec: dict[str, Any]) -> None:
        self.latest[rec["clip_id"]] = rec
        if rec.get("status") == "ok":
            self._ok_keys.setdefault(rec["clip_id"], set()).add(str(rec.get("key")))

    def done(self, clip_id: str, key: str) -> bool:
        """True when the clip has a committed successful annotation made with this cache key (at any time:
        a later line made with another model does not make this one unpaid)."""
        return key in self._ok_keys.get(clip_id, set())

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, default=_jsonable, ensure_ascii=False) + "\n").encode()
        with self._lock:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
            self._note(record)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def clip_annotations(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{clip_id: annotation} from a run folder's annotations.jsonl (read only): each clip's latest
    successful annotation, {age, gender, ethnicity, language, language_source, caption, structured, model,
    ...}. Clips never annotated, or whose every attempt failed, are absent."""
    records, _ = read_lines(Path(run_dir) / ANNOTATIONS)
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec.get("status") == "ok" and isinstance(rec.get("annotation"), dict):
            out[rec["clip_id"]] = rec["annotation"]
    return out
