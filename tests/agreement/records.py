"""Hand-made clip and source records in the journal's format, for tests that need a run without running one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from talkvid_fast.manifest import Journal

HEAD_GATES = (
    "movement_avg",
    "movement_min",
    "rotation_avg",
    "rotation_min",
    "orientation_avg",
    "orientation_min",
    "completeness_avg",
    "completeness_min",
    "resolution_avg",
    "resolution_min",
    "face_consistency",
)


def stage(gates: dict[str, bool], failed: str | None = None, error: str | None = None, **scores: Any) -> dict:
    passed = error is None and all(gates.values()) and failed is None
    first = failed or next((g for g, ok in gates.items() if not ok), None)
    return {"scores": scores, "gates": gates, "passed": passed, "failed_gate": first, "error": error}


def head(fail: tuple[str, ...] = (), **scores: Any) -> dict:
    return stage({g: g not in fail for g in HEAD_GATES}, **scores)


def clip(
    source: str, path: str, n: int = 1, duration: float = 6.0, speech: bool = True, **stages: dict
) -> dict:
    gates: dict[str, Any] = {"duration": duration > 5.0, "speech": speech}
    first = None if duration > 5.0 and speech else ("duration" if duration <= 5.0 else "speech")
    passed = first is None
    for name, result in stages.items():
        gates[name] = bool(result["passed"]) if not result.get("error") else False
        if not gates[name]:
            passed = False
            first = first or f"{name}:{result['failed_gate'] or 'error'}"
    return {
        "clip_id": f"{source}-scene{n}",
        "source_id": source,
        "source_path": path,
        "start": 0.3,
        "end": 0.3 + duration,
        "duration": duration,
        "gates": gates,
        "stages": {"segment": {"scores": {"speech_fraction": 0.9}}, **stages},
        "passed": passed,
        "first_failed_gate": first,
    }


def source(sid: str, path: str, error: str | None = None, duration: float = 6.4) -> dict:
    rec: dict[str, Any] = {"source_id": sid, "path": path, "status": "error" if error else "ok"}
    rec["errors"] = [{"reason": error, "detail": "test"}] if error else []
    rec["probe"] = {"duration": duration}
    return rec


def write_run(folder: Path, batches: list[tuple[dict, list[dict]]]) -> Path:
    journal = Journal(folder)
    for src, clips in batches:
        journal.append(src, clips)
    journal.close()
    return folder
