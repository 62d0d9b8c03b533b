"""Running the CLI in tests, and reading what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "talkvid_fast.run", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def journal(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]


def comparable(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Records keyed by id without run-dependent fields (timings; the scene buffer's high-water marks, which
    depend on when the model thread releases a rejected clip's frames and, per stream, on earlier sources)."""
    out = {}
    for r in records:
        r = json.loads(json.dumps(r))
        r.pop("timings", None)
        for peak in ("peak_bytes", "stream_peak_bytes"):
            r.get("decode", {}).get("scene_buffer", {}).pop(peak, None)
        for stage in r.get("stages", {}).values():
            stage.pop("seconds", None)
        out[(r["kind"], r.get("clip_id") or r["source_id"])] = r
    return out
