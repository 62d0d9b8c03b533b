"""Synthetic run folders (a committed journal with known clips) for the annotation and Core tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from talkvid_fast.manifest import Journal


def clip_record(
    source_id: str, n: int, start: float, end: float, passed: bool = True, **extra: Any
) -> dict[str, Any]:
    return {
        "clip_id": f"{source_id}-scene{n}",
        "source_id": source_id,
        "source_path": extra.pop("source_path", f"/nonexistent/{source_id}.mp4"),
        "start": start,
        "end": end,
        "duration": round(end - start, 4),
        "passed": passed,
        "stages": extra.pop("stages", {}),
        **extra,
    }


def make_run(
    folder: Path,
    sources: dict[str, list[dict[str, Any]]],
    meta: dict[str, dict[str, Any]] | None = None,
    subtitles: dict[str, str] | None = None,
) -> Path:
    """Writes journal.jsonl with one committed batch per source: {source_id: clip records}."""
    journal = Journal(folder)
    for sid, clips in sources.items():
        journal.append(
            {
                "source_id": sid,
                "path": f"/nonexistent/{sid}.mp4",
                "subtitle_path": (subtitles or {}).get(sid),
                "metadata": (meta or {}).get(sid, {}),
                "status": "ok",
                "errors": [],
            },
            clips,
        )
    journal.close()
    return folder


def colour_frames(clip: dict[str, Any], k: int) -> list[np.ndarray]:
    """A stand-in frame source: k small frames whose colour encodes the clip id (distinct per clip)."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(clip["clip_id"])) % 2**32
    rng = np.random.default_rng(seed)
    return [np.full((24, 32, 3), rng.integers(0, 256, 3), dtype=np.uint8) for _ in range(k)]
