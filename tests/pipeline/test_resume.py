"""A run killed with SIGKILL mid-way and resumed equals an uninterrupted run: nothing lost, nothing twice,
the same records (filter scores included) and the same exported files (byte for byte where the encoder
is deterministic; decoded and compared for the x264 video).

The run has the filter stages that work on any machine: motion with KLT and head with facemesh (quality
needs DOVER weights), on real clips from the test media, with a profile edited from `paper` so that short
clips without speech reach the filters (min_duration 2 s, no speech gate) and motion uses KLT whatever
weights are cached.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import av
import numpy as np

from tests.pipeline.helpers import REPO, comparable, journal, run_cli

# largest first is the run's order: d0 (passes, no audio), d18 (passes, with audio), nemo (fails motion)
SOURCES = [
    "positives/liveportrait__d0.mp4",
    "positives/liveportrait__d18.mp4",
    "negatives/nemo__test_video.mp4",
]
STAGES = "segment,motion,head,export"


def _profile(folder: Path) -> Path:
    text = resources.files("talkvid_fast.profiles").joinpath("paper.toml").read_text()
    for old, new in [
        ("\nmin_duration = 5.0 ", "\nmin_duration = 2.0 "),
        ('\nspeech_gate = "vad" ', '\nspeech_gate = "off" '),
        ('\nbackend = "auto"                 # klt', '\nbackend = "klt"                  # klt'),
    ]:
        assert text.count(old) == 1, f"paper.toml changed: {old!r}"
        text = text.replace(old, new)
    path = folder / "filters.toml"
    path.write_text(text)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_kill_and_resume_matches_uninterrupted_run(testmedia: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SOURCES:
        (corpus / Path(name).name).symlink_to(testmedia / name)
    args = ["--input", str(corpus), "--profile", str(_profile(tmp_path)), "--stages", STAGES, "--no-progress"]

    full = tmp_path / "full"
    assert run_cli(*args, "--output", str(full)).returncode == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "talkvid_fast.run", *args, "--output", str(killed)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    journal_file = killed / "journal.jsonl"
    while time.time() < deadline:  # kill as soon as some but not all sources are committed
        if journal_file.exists() and journal_file.read_text().count('"kind": "source"') >= 1:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = journal_file.read_text().count('"kind": "source"')
    assert 1 <= committed < len(SOURCES), "the kill must land mid-run"

    resumed = run_cli(*args, "--output", str(killed))
    assert resumed.returncode == 0
    assert f"{len(SOURCES) - committed} processed, {committed} already done" in resumed.stdout

    records = journal(killed)
    ids = [(r["kind"], r.get("clip_id") or r["source_id"]) for r in records]
    assert len(ids) == len(set(ids)), "a record was written twice"
    want = comparable(journal(full))
    assert comparable(records) == want  # filter scores, verdicts and export records included
    clips = [r for r in want.values() if r["kind"] == "clip"]
    assert {r["stages"]["motion"]["passed"] for r in clips} == {True, False}  # the filters decided
    assert all("head" in r["stages"] for r in clips if r["stages"]["motion"]["passed"])
    exported = _files(full / "clips")
    assert any(f.endswith(".mp4") for f in exported) and any(f.endswith(".wav") for f in exported)
    got = _files(killed / "clips")
    assert sorted(got) == sorted(exported), "exported files differ (or a temporary was left behind)"
    for name, data in exported.items():
        if name.endswith(".mp4"):
            _assert_same_video(killed / "clips" / name, full / "clips" / name)
        else:  # the first-frame PNG and the WAV are deterministic: byte for byte
            assert got[name] == data, f"{name} differs from the uninterrupted run's"


def _mse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.square(x.astype(np.int32) - y.astype(np.int32))))


def _assert_same_video(got: Path, want: Path) -> None:
    """libx264 (threads = auto) is not bit-reproducible run to run: two uninterrupted exports of one clip
    differ by up to 22 levels, worst frame PSNR 45.4 dB, mean squared error 0.59 (liveportrait__d18), while
    its neighbouring frames differ by MSE 4.2 (PSNR 46 dB median: a still head). So: the same streams,
    frame count, size and timestamps; every frame within 40 dB PSNR of the uninterrupted run's (a truncated,
    corrupt or black frame fails); frame k matches frame k at least 3x better (mean MSE) than frame k +- 1
    (a clip shifted by one frame fails); audio samples equal."""
    a, b = decode_all(got), decode_all(want)
    assert a.keys() == b.keys()
    for kind in a:
        assert [(t, x.shape) for t, x in a[kind]] == [(t, x.shape) for t, x in b[kind]], f"{got.name} {kind}"
    x, y = [f for _, f in a["video"]], [f for _, f in b["video"]]
    same = [_mse(p, q) for p, q in zip(x, y, strict=True)]
    assert max(same) <= 255.0**2 / 1e4, (
        f"{got.name}: a frame is {10 * np.log10(255**2 / max(same)):.1f} dB off"
    )
    for shift in (1, -1):
        off = [_mse(p, q) for p, q in zip(x[max(shift, 0) :], y[max(-shift, 0) :], strict=False)]
        assert 3 * np.mean(same) < np.mean(off), f"{got.name}: frames match their neighbours ({shift:+d})"
    for (_, p), (_, q) in zip(a.get("audio", []), b.get("audio", []), strict=True):
        assert np.array_equal(p, q), f"{got.name}: audio differs"


def decode_all(path: Path) -> dict[str, list[tuple[float, np.ndarray]]]:
    """(time, array) of every decoded frame per stream kind: RGB video frames, audio sample blocks."""
    out: dict[str, list[tuple[float, np.ndarray]]] = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            if stream.type not in ("video", "audio"):
                continue
            frames = out.setdefault(stream.type, [])
            for frame in container.decode(stream):
                if isinstance(frame, av.VideoFrame):
                    frames.append((round(float(frame.time or 0.0), 6), frame.to_ndarray(format="rgb24")))
                elif isinstance(frame, av.AudioFrame):
                    frames.append((round(float(frame.time or 0.0), 6), frame.to_ndarray()))
            container.seek(0)
    return out
