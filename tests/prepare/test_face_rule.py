"""Clips whose frames have not exactly one face: dropped with the reason (TalkVid's rule), or kept within a
tolerance with their face rows marked; a clip without audio is dropped with its reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkvid_fast.head._facemesh_backend import Faces, _empty
from talkvid_fast.prepare._layouts import Layout
from talkvid_fast.prepare._source import PrepareParams, SourcePreparer

from ..media import write_video
from .test_alignment import OneFace, _source

CLIP = {"clip_id": "flash-scene1", "start": 0.5, "end": 2.3, "start_frame": 13, "end_frame": 58}


class FaceGap(OneFace):
    """One face, except none in the clip's 11th and 12th frames and two in its 21st to 23rd (counted over
    the calls: the preparer sends a clip's distinct frames in order, in chunks)."""

    def __init__(self) -> None:
        self.seen = 0

    def analyze(self, clips: list) -> list[list[Faces]]:
        (faces,) = super().analyze(clips)
        f = faces[0]
        two = Faces(
            *(np.concatenate([a, a]) for a in (f.box, f.kps, f.pose, f.score, f.presence, f.landmarks))
        )
        out = []
        for _ in faces:
            out.append(_empty() if self.seen in (10, 11) else two if 20 <= self.seen <= 22 else f)
            self.seen += 1
        return [out]


def _prepare(tmp_path: Path, tolerance: float, source: Path | None = None) -> dict:
    src = source or _source(tmp_path / "flash.mp4")
    layout = Layout("vexpress", tmp_path / f"out{tolerance}")
    params = PrepareParams(format="vexpress", fps=24.0, size=64, face_tolerance=tolerance)
    _, (rec,) = SourcePreparer(params, layout, FaceGap()).source(str(src), None, [CLIP])
    rec["root"] = layout.root
    return rec


def test_a_frame_without_one_face_drops_the_clip_by_default(tmp_path: Path) -> None:
    rec = _prepare(tmp_path, 0.0)
    assert rec["status"] == "dropped" and rec["reason"] == "face_count"
    assert (
        rec["detail"].startswith("5 of 43 output frames") and "first: [10, 11, 20, 21, 22]" in rec["detail"]
    )


def test_a_tolerance_keeps_the_frames_and_marks_them(tmp_path: Path) -> None:
    assert _prepare(tmp_path, 4 / 43)["reason"] == "face_count"
    rec = _prepare(tmp_path, 0.2)
    assert rec["status"] == "ok" and rec["frames_without_one_face"] == 5 and rec["frames"] == 43
    info = np.load(rec["root"] / rec["files"]["face_info"])
    counts = info["face_count"]
    assert sorted(counts.tolist()).count(0) == 2 and sorted(counts.tolist()).count(2) == 3
    assert np.isnan(info["landmarks"][counts == 0]).all()
    assert not np.isnan(info["landmarks"][counts != 0]).any()


def test_a_clip_without_audio_is_dropped_with_its_reason(tmp_path: Path) -> None:
    frames = [np.full((96, 128, 3), 60, np.uint8) for _ in range(60)]
    silent = write_video(tmp_path / "mute.mp4", frames, fps=25)
    rec = _prepare(tmp_path, 0.0, silent)
    assert rec["status"] == "dropped" and rec["reason"] == "no_audio"


class FailsOnce(OneFace):
    def __init__(self) -> None:
        self.calls = 0

    def analyze(self, clips: list) -> list[list[Faces]]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("model crashed")
        return super().analyze(clips)


def test_a_clip_that_fails_is_recorded_and_the_next_one_prepared(tmp_path: Path) -> None:
    src = _source(tmp_path / "flash.mp4")
    first = {"clip_id": "flash-scene1", "start": 0.5, "end": 1.4, "start_frame": 13, "end_frame": 35}
    second = {"clip_id": "flash-scene2", "start": 1.5, "end": 2.3, "start_frame": 38, "end_frame": 58}
    layout = Layout("vexpress", tmp_path / "out")
    params = PrepareParams(format="vexpress", fps=24.0, size=64)
    _, (a, b) = SourcePreparer(params, layout, FailsOnce()).source(str(src), None, [second, first])
    assert (a["clip_id"], a["status"], a["reason"]) == ("flash-scene1", "dropped", "error")
    assert "RuntimeError: model crashed" in a["detail"]
    assert (b["clip_id"], b["status"]) == ("flash-scene2", "ok")
