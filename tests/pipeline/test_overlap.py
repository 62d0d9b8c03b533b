"""Decode and models overlap (Note [Worker dataflow]), shown by the order of recorded events, not by timing.

A stand-in stage blocks its first batch until the worker's trace says the *next* source has been scanned
(with a time limit). A worker that decodes and scores one source after the other can never get there: the
batch times out, and the recorded order shows the model batch ending before the next source's decode.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from talkvid_fast.pipeline import RunConfig, Worker
from talkvid_fast.pipeline import _worker as worker_module
from talkvid_fast.profile import Profile, load_profile
from talkvid_fast.stages import FrameRequest, StageResult

FIRST = "generated/freedomintelligence__talkvid_talk_emotion_gt.mp4"  # 137 frames, one scene
SECOND = "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4"  # 160 frames, two long scenes


class _Trace:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.second_scanned = threading.Event()

    def __call__(self, event: str, detail: str) -> None:
        with self.lock:
            self.events.append((event, detail))
        if event == "scan_end" and detail == "second":
            self.second_scanned.set()

    def index(self, event: str, detail: str) -> int:
        return self.events.index((event, detail))


def _short_clips_profile() -> Profile:
    """`paper` with stage 1's speech gate off and 2 s clips: every scene of the short test videos is a clip."""
    p = load_profile("paper")
    sections = {k: dict(v) for k, v in p.sections.items()}
    sections["segment"].update(speech_gate="keep", min_duration=2.0)
    return dataclasses.replace(p, sections=sections)


class _Blocking:
    """A filter stage: two small frames per clip; its first batch waits for the second source's scan."""

    name = "motion"
    whole_source = False

    def __init__(self, trace: _Trace) -> None:
        self.trace, self.batches = trace, 0
        self.waited: bool | None = None

    def setup(self) -> None:
        pass

    def requests(self, clip: Any) -> list[FrameRequest]:
        return [FrameRequest("v", np.array([0, clip.num_frames - 1]), (16, 16))]

    def process(self, batch: list[tuple[Any, dict[str, Any]]]) -> list[StageResult]:
        self.batches += 1
        if self.batches == 1:
            self.waited = self.trace.second_scanned.wait(timeout=30)
        return [StageResult(passed=True, backend="blocking") for _ in batch]


@pytest.mark.parametrize("streams", [1, 2])
def test_model_batch_runs_while_the_next_source_decodes(
    streams: int, testmedia: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = _Trace()
    stage = _Blocking(trace)
    monkeypatch.setattr(worker_module, "load_stage", lambda name, params, device: stage)
    cfg = RunConfig(
        profile=_short_clips_profile(),
        output=tmp_path,
        stages=["segment", "motion"],
        decode_streams=streams,
    )
    sources = [
        {"video-id": "first", "video-path": str(testmedia / FIRST)},
        {"video-id": "second", "video-path": str(testmedia / SECOND)},
    ]
    out = {src["source_id"]: (src, clips) for src, clips in Worker(cfg, trace=trace).process_many(sources)}
    assert stage.waited is True, f"the model batch waited in vain: {trace.events}"
    first_batch = next(d for e, d in trace.events if e == "model_start")
    start, end = trace.index("model_start", first_batch), trace.index("model_end", first_batch)
    # the first model batch started before the second source finished its scan, and ended after it
    assert start < trace.index("scan_end", "second") < end, trace.events
    assert trace.index("decode_start", "second") < end
    # and nothing was lost on the way: every clip of both sources was scored, sources are complete
    assert set(out) == {"first", "second"}
    for src, clips in out.values():
        assert src["status"] == "ok"
        scored = [c for c in clips if "motion" in c["stages"]]
        assert scored and all(c["stages"]["motion"]["backend"] == "blocking" for c in scored)
    assert len(out["second"][1]) == 3 and sum("motion" in c["stages"] for c in out["second"][1]) == 2


def test_export_of_a_source_runs_while_the_next_source_is_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Note [Export from the scan]: the caller's thread stages a source's export into the encode pool and takes
    up the next scored source while those clips encode. Source a's x264 writer waits (with a time limit) until
    the worker's trace says source b's export has started; a caller that waits for a's encodes before it
    looks at b (the old code) never gets there, and a's export ends first."""
    from talkvid_fast.export import _cut as cut_module
    from tests.media import scene_frames, write_video

    trace = _Trace()
    b_export = threading.Event()
    real_trace = trace.__call__

    def traced(event: str, detail: str) -> None:
        real_trace(event, detail)
        if (event, detail) == ("export_start", "b"):
            b_export.set()

    waited: list[bool] = []
    real_writer = cut_module._x264_writer

    def writer(clip: Any, size: Any, path: Any, png: Any, params: Any) -> Any:
        write, close = real_writer(clip, size, path, png, params)

        def gated(rgb: Any, n: int) -> None:
            if clip.source.source_id == "a" and n == 0:
                waited.append(b_export.wait(timeout=30))
            write(rgb, n)

        return gated, close

    monkeypatch.setattr(cut_module, "_x264_writer", writer)
    sources = []
    for k, sid in enumerate("ab"):
        path = tmp_path / f"{sid}.mp4"
        write_video(path, scene_frames([60], size=(64, 96), seed=k), fps=10)  # one 6 s scene: one clip
        sources.append({"video-id": sid, "video-path": str(path)})
    cfg = RunConfig(
        profile=_short_clips_profile(),
        output=tmp_path / "out",
        stages=["segment", "export"],
    )
    out = {src["source_id"]: clips for src, clips in Worker(cfg, trace=traced).process_many(sources)}
    assert waited == [True], trace.events
    assert trace.index("export_start", "b") < trace.index("export_end", "a"), trace.events
    for sid in "ab":  # both exported in full, from the scan's frames
        (clip,) = out[sid]
        assert clip["export"]["frames"] == clip["frames"] and clip["export"]["frames_from"] == "scene_buffer"
        assert (tmp_path / "out" / clip["export"]["video_path"]).is_file()


def test_views_of_a_closed_scene_are_made_while_the_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Note [Views beside the scan]: on the CPU a clip closed during the scan is converted on the stream's
    views thread. The first clip's view transform waits (with a time limit) until the trace says the source's
    scan has ended; made in the scan's own thread (the old code), the scan cannot end while it waits."""
    from tests.media import scene_frames, write_video

    trace = _Trace()
    scanned = threading.Event()
    real_trace = trace.__call__

    def traced(event: str, detail: str) -> None:
        real_trace(event, detail)
        if event == "scan_end":
            scanned.set()

    waited: list[bool] = []

    class _Converting(_Blocking):
        def requests(self, clip: Any) -> list[FrameRequest]:
            first = clip.start_frame < 60  # the first scene's clip, closed mid-scan by the cut at frame 60

            def transform(frame: Any, row: int) -> Any:
                if first and row == 0:
                    waited.append(scanned.wait(timeout=20))
                return frame[:16, :16]

            return [FrameRequest("v", np.array([0, 1]), (16, 16), transform=transform)]

        def process(self, batch: list[tuple[Any, dict[str, Any]]]) -> list[StageResult]:
            return [StageResult(passed=True, backend="converting") for _ in batch]

    stage = _Converting(trace)
    monkeypatch.setattr(worker_module, "load_stage", lambda name, params, device: stage)
    path = tmp_path / "two_scenes.mp4"
    write_video(path, scene_frames([60, 60], size=(64, 96), seed=3), fps=10)  # two 6 s scenes
    cfg = RunConfig(
        profile=_short_clips_profile(),
        output=tmp_path / "out",
        stages=["segment", "motion"],
    )
    ((src, clips),) = list(
        Worker(cfg, trace=traced).process_many([{"video-id": "s", "video-path": str(path)}])
    )
    assert waited == [True], trace.events  # the scan ended while the first clip's views were being made
    assert src["status"] == "ok" and len(clips) == 2
    assert [c["decode"]["early"] for c in clips] == [True, False]  # the last scene closes with the scan
    assert all(c["stages"]["motion"]["backend"] == "converting" for c in clips)
