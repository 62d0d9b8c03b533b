"""`--export spans` (Note [Span export]): passing clips as spans of their sources, nothing encoded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.media import scene_frames, write_video
from tests.pipeline.helpers import journal, run_cli


def test_spans_export_writes_spans_and_no_media(tmp_path: Path) -> None:
    fps = 10
    src = tmp_path / "in" / "talk.mp4"
    src.parent.mkdir()
    write_video(src, scene_frames([80, 70], size=(64, 96)), fps=fps)  # scenes [0, 8 s) and [8 s, 15 s)
    out = tmp_path / "out"
    args = ["--input", str(src), "--output", str(out), "--profile", "official", "--stages", "segment,export"]
    r = run_cli(*args, "--export", "spans")
    assert r.returncode == 0, r.stderr
    spans = {s["id"]: s for s in json.loads((out / "spans.json").read_text())}
    # the official profile trims 0.3 s at the start and 0.1 s at the end of each scene (8.3 s .. 14.9 s here)
    s2 = spans["talk-scene2"]
    assert (s2["start-frame"], s2["end-frame"], s2["frames"]) == (83, 149, 66)
    assert abs(s2["start-time"] - 8.3) < 1e-6 and abs(s2["end-time"] - 14.9) < 1e-6
    assert abs(s2["duration"] - 6.6) < 1e-6 and s2["fps"] == fps and s2["resolution"] == [96, 64]
    assert s2["video-id"] == "talk" and Path(s2["source-path"]).resolve() == src.resolve()
    assert "segment" in s2["scores"]
    passed = {c["clip_id"] for c in journal(out) if c["kind"] == "clip" and c["passed"]}
    assert set(spans) == passed == {"talk-scene1", "talk-scene2"}  # keeps sources without speech
    assert not (out / "clips").exists()  # no re-encode: no media at all
    assert json.loads((out / "talkvid.json").read_text()) == []  # the media form lists none
