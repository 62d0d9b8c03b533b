"""Human labels in the format of `testmedia/labels.json`, and matching them to a run's clips.

The file is a JSON list of entries `{"file": "positives/x.mp4", "labels": {criterion: {"value": v, "reason":
"..."}}, ...}` (a dict `{file: entry}` is read too). Labels made on the review page add `clip_id`, `start`,
`end` and `annotator` to an entry: they then belong to that clip alone, while a plain entry labels every
clip of its file. Values are `true` / `false`, a grade, or an undecided word; `decided()` maps them to
True / False / None (Note [Positive class] in `_stats.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

#: graded criteria: grade -> decided value (None: borderline, counts for neither side)
GRADES: dict[str, dict[str, bool | None]] = {
    "visual_quality": {"good": True, "fair": None, "poor": False},
}
UNDECIDED = ("uncertain", "borderline", "unsure", "")


def decided(criterion: str, value: Any) -> bool | None:
    """A label's value as keep (True) / reject (False) / undecided (None)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        grades = GRADES.get(criterion, {})
        if value in grades:
            return grades[value]
        if value.lower() in UNDECIDED:
            return None
        raise ValueError(
            f"label {criterion}={value!r}: allowed are true, false, {', '.join(repr(u) for u in UNDECIDED if u)}"
            + (f", or a grade in {sorted(grades)}" if grades else "")
        )
    if value is None:
        return None
    raise ValueError(
        f"label {criterion}={value!r}: expected true/false or a word, got {type(value).__name__}"
    )


@dataclass(frozen=True)
class LabelEntry:
    file: str  #: path as written in the labels file (relative to the media folder, usually)
    labels: dict[str, Any]  #: criterion -> {"value": ..., "reason": ...}
    clip_id: str | None = None
    annotator: str | None = None

    def value(self, criterion: str) -> bool | None:
        item = self.labels.get(criterion)
        if not isinstance(item, dict) or "value" not in item:
            return None
        return decided(criterion, item["value"])

    def reason(self, criterion: str) -> str:
        item = self.labels.get(criterion)
        return str(item.get("reason", "")) if isinstance(item, dict) else ""


def load_labels(path: Path) -> list[LabelEntry]:
    """Reads a labels file; raises ValueError naming the entry that is malformed."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from exc
    if isinstance(data, dict):
        data = [{"file": k, **v} for k, v in data.items()]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of entries with 'file' and 'labels'")
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "file" not in item or not isinstance(item.get("labels"), dict):
            raise ValueError(f"{path}: entry {i} has no 'file' and 'labels' object")
        entry = LabelEntry(str(item["file"]), item["labels"], item.get("clip_id"), item.get("annotator"))
        for criterion in entry.labels:
            if criterion != "cuts":
                entry.value(criterion)  # fail now on a value we cannot read
        entries.append(entry)
    return entries


class LabelIndex:
    """Finds the label entry of a run's clip: by clip id first, else by source file.

    A file key matches a source path when its path components are the tail of the source's (the longest
    such key wins: `positives/a.mp4` matches `/data/testmedia/positives/a.mp4`), else when its stem is the
    source id."""

    def __init__(self, entries: list[LabelEntry]) -> None:
        self.by_clip = {e.clip_id: e for e in entries if e.clip_id}
        self.by_file = {e.file: e for e in entries if not e.clip_id}

    def for_clip(self, clip: dict[str, Any]) -> LabelEntry | None:
        if clip.get("clip_id") in self.by_clip:
            return self.by_clip[clip["clip_id"]]
        return self.for_source(str(clip.get("source_path", "")), str(clip.get("source_id", "")))

    def for_source(self, path: str, source_id: str) -> LabelEntry | None:
        parts = PurePath(path).parts
        best: tuple[int, LabelEntry] | None = None
        for key, entry in self.by_file.items():
            kparts = PurePath(key).parts
            tail = kparts and len(kparts) <= len(parts) and tuple(parts[-len(kparts) :]) == kparts
            if tail and (best is None or len(kparts) > best[0]):
                best = (len(kparts), entry)
        if best is not None:
            return best[1]
        stems = [e for k, e in self.by_file.items() if PurePath(k).stem == source_id]
        return stems[0] if len(stems) == 1 else None
