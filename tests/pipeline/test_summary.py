"""The run summary of a resumed run: the whole output's figures and this run's own, never a rate of no work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkvid_fast.manifest import Journal
from talkvid_fast.report import render, summarize
from tests.media import scene_frames, write_video
from tests.pipeline.helpers import run_cli


def _source(sid: str, duration: float, total: float) -> dict:
    return {
        "source_id": sid,
        "path": f"/m/{sid}.mp4",
        "status": "ok",
        "errors": [],
        "probe": {"duration": duration},
        "timings": {"total": total},
    }


def test_this_run_and_whole_output_are_reported_apart(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(_source("old", 30.0, 6.0), [])  # committed by an earlier run
    journal.append(_source("new", 12.0, 3.0), [])
    s = summarize(journal, {}, wall_seconds=4.0, this_run={"new"})
    # this run: 12 s of video in 4 s of wall time = 3.0; whole output: 42 s over 9 s of processing = 4.67
    assert s["this_run"] == {
        "processed": 1,
        "skipped": 1,
        "hours_in": round(12 / 3600, 4),
        "wall_seconds": 4.0,
        "rtf_end_to_end": 3.0,
    }
    assert s["whole_output"]["rtf_processing"] == pytest.approx(42 / 9, abs=0.01)
    nothing = summarize(journal, {}, wall_seconds=0.03, this_run=set())
    assert nothing["this_run"]["rtf_end_to_end"] is None and nothing["rtf_end_to_end"] is None
    assert "nothing left to do (2 sources already done)" in render(nothing)
    journal.close()


def test_rerun_with_nothing_to_do_reports_no_rate(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", scene_frames([70], size=(48, 64)), fps=10)
    out = tmp_path / "out"
    args = ("--input", str(video), "--output", str(out), "--profile", "official", "--stages", "segment")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    before = json.loads((out / "summary.json").read_text())
    assert before["this_run"]["processed"] == 1 and before["this_run"]["rtf_end_to_end"] > 0
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    after = json.loads((out / "summary.json").read_text())
    assert after["this_run"]["processed"] == 0 and after["this_run"]["rtf_end_to_end"] is None
    assert after["whole_output"] == before["whole_output"]  # the output's work did not change
    md = (out / "summary.md").read_text()
    assert "nothing left to do" in md and "RTF end to end" not in md
