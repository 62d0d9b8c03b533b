"""Frames decoded from real video (Note [Annotation frames]) and a kill -9 mid-run followed by a resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.annotate import ANNOTATIONS, AnnotateOptions, ChatClient, annotate_run, clip_annotations
from talkvid_fast.annotate._frames import sample_times
from talkvid_fast.decode import frames_at_times as sample_frames

from ..conftest import decode_rgb
from ..media import write_video
from .fake_vlm import Action, FakeVLM, serve
from .runs import clip_record, make_run

REPO = Path(__file__).resolve().parents[2]


def _numbered_video(path: Path, n: int, fps: int) -> Path:
    """Frame i is a flat grey of a level distinct from its neighbours' (so a frame is known by its pixels)."""
    frames = [np.full((48, 64, 3), (37 * i) % 256, dtype=np.uint8) for i in range(n)]
    return write_video(path, frames, fps=fps)


def test_sample_times_are_the_centres_of_k_equal_parts() -> None:
    assert sample_times(10.0, 15.0, 4) == [10.625, 11.875, 13.125, 14.375]
    with pytest.raises(ValueError, match="frames must be >= 1"):
        sample_times(0.0, 1.0, 0)


def test_frames_are_the_ones_on_screen_at_the_times(tmp_path: Path) -> None:
    fps = 10
    video = _numbered_video(tmp_path / "v.mp4", 130, fps)  # 13 s: the last time is > SEEK_GAP after the first
    reference = decode_rgb(video)  # every frame, plain PyAV
    times = [0.05, 0.31, 0.99, 4.5, 12.95]
    got = sample_frames(str(video), times)
    expected = [
        int(np.floor(t * fps + 1e-9)) for t in times
    ]  # frame i is on screen during [i/fps, (i+1)/fps)
    assert expected == [0, 3, 9, 45, 129]
    for frame, index in zip(got, expected, strict=True):
        np.testing.assert_array_equal(frame, reference[index])


def test_times_far_after_the_only_keyframe_are_reached(tmp_path: Path) -> None:
    import threading

    video = _numbered_video(tmp_path / "v.mp4", 130, 10)  # x264's keyint 250: one keyframe, at 0 s
    reference = decode_rgb(video)
    got: list[np.ndarray] = []
    worker = threading.Thread(
        target=lambda: got.extend(sample_frames(str(video), [11.0, 12.05])), daemon=True
    )
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "sample_frames kept seeking back to the keyframe at 0 s"
    np.testing.assert_array_equal(got[0], reference[110])
    np.testing.assert_array_equal(got[1], reference[120])


def test_kill_during_a_run_then_resume_pays_for_no_clip_twice(tmp_path: Path) -> None:
    video = _numbered_video(tmp_path / "v.mp4", 60, 10)  # 6 s; clip i = [i, i + 1) s has its own frames
    clips = [clip_record("vid", i + 1, float(i), float(i) + 1.0, source_path=str(video)) for i in range(6)]
    run = make_run(tmp_path / "run", {"vid": clips})
    answered_first = 3
    first = FakeVLM(lambda key, n, body: Action() if len(first.answered) < answered_first else Action("hang"))
    with serve(first) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "talkvid_fast.annotate", "--run", str(run), "--endpoint", url, "--model", "m",
             "--concurrency", "1", "--frames", "1", "--timeout", "20"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not (len(first.requests) > answered_first and _lines(run) == answered_first):
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, (len(first.requests), _lines(run), first.answered)
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)  # with the 4th request in flight
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert _lines(run) == answered_first
    second = FakeVLM()
    with serve(second) as url:
        options = AnnotateOptions(frames=1, concurrency=2)
        annotate_run(run, ChatClient(url, "m", max_retries=0), options, log=lambda s: None)
    # every clip paid for exactly once over both runs; the one in flight at the kill was asked again, unpaid before
    assert not set(first.answered) & set(second.answered)
    assert sorted({**first.answered, **second.answered}.values()) == [1] * 6
    in_flight = first.requests[answered_first][0]
    assert set(second.answered) - {r[0] for r in first.requests} == set(second.answered) - {in_flight}
    lines = [json.loads(line) for line in (run / ANNOTATIONS).read_text().splitlines()]
    assert sorted(r["clip_id"] for r in lines) == [c["clip_id"] for c in clips]  # each clip once
    assert len(clip_annotations(run)) == 6


def _lines(run: Path) -> int:
    path = run / ANNOTATIONS
    return path.read_bytes().count(b"\n") if path.exists() else 0
