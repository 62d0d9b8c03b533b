"""Every kind of bad input gets a record with a reason (or a clear startup error), and the run goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.media import scene_frames, write_video
from tests.pipeline.helpers import journal, run_cli


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory, testmedia: Path) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    (folder / "zero.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("not a video at all\n" * 50)
    data = (testmedia / "positives" / "sadtalker__WDA_KatieHill_000.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    import av

    with av.open(str(folder / "audio_only.mp4"), "w") as out:
        s = out.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 32000), np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        for pkt in [*s.encode(frame), *s.encode(None)]:
            out.mux(pkt)
    write_video(folder / "no_audio.mp4", scene_frames([60], size=(48, 64)), fps=10)
    write_video(folder / "odd size 97x61.mp4", scene_frames([60], size=(61, 97)), fps=10)
    times = [i * 0.1 + (0.05 if i % 3 == 2 else 0.0) for i in range(60)]
    write_video(folder / "vfr.mp4", scene_frames([60], size=(48, 64)), fps=10, times=times)
    write_video(folder / "bad subs.mp4", scene_frames([60], size=(48, 64)), fps=10)
    (folder / "bad subs.srt").write_bytes(b"\x00\x01\x02 garbage")
    write_video(folder / "vidéo à tester ü.mp4", scene_frames([60], size=(48, 64)), fps=10)
    shutil.copy(testmedia / "multishot" / "pyscenedetect__issue-134-rotate.mp4", folder / "rotated.mp4")
    return folder


def test_every_input_gets_a_record_with_reasons(bad_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "--input",
        str(bad_folder),
        "--output",
        str(out),
        "--profile",
        "official",
        "--stages",
        "segment,export",
    )
    assert result.returncode == 0, result.stderr
    sources = {r["source_id"]: r for r in journal(out) if r["kind"] == "source"}
    assert len(sources) == 10
    reasons = {sid: [e["reason"] for e in r["errors"]] for sid, r in sources.items()}
    assert reasons["zero"] == ["empty_file"]
    assert reasons["text"] == ["not_a_video"]
    assert reasons["audio_only"] == ["no_video_stream"]
    assert reasons["truncated"] == ["corrupt"]  # the moov atom is in the lost half
    assert reasons["bad subs"] == ["subtitle_unreadable"]
    clips = [r for r in journal(out) if r["kind"] == "clip"]
    by_source: dict[str, list[dict]] = {}
    for c in clips:
        by_source.setdefault(c["source_id"], []).append(c)
    assert by_source["bad subs"][0]["first_failed_gate"] == "subtitle_unreadable"
    for sid in ("no_audio", "odd size 97x61", "vfr", "vidéo à tester ü"):
        assert sources[sid]["status"] == "ok" and by_source[sid][0]["passed"], sid
    assert by_source["odd size 97x61"][0]["width"] == 97
    assert sources["rotated"]["probe"]["width"] == 544 and sources["rotated"]["probe"]["height"] == 1280
    talkvid = json.loads((out / "talkvid.json").read_text())
    exported = {r["video-id"] for r in talkvid}
    assert {"no_audio", "odd size 97x61", "vfr", "vidéo à tester ü"} <= exported
    assert all((out / r["video-path"]).is_file() for r in talkvid)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sources_failed"] == sum(r["status"] == "error" for r in sources.values())


def test_paper_profile_fails_no_audio_sources_with_reason(bad_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(bad_folder / "no_audio.mp4", folder / "no_audio.mp4")
    out = tmp_path / "out"
    assert run_cli("--input", str(folder), "--output", str(out), "--stages", "segment").returncode == 0
    (clip,) = [r for r in journal(out) if r["kind"] == "clip"]
    assert clip["first_failed_gate"] == "no_audio" and not clip["passed"]


def test_startup_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("--input", str(empty), "--output", str(tmp_path / "o"))
    assert r.returncode == 2 and "no videos" in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    video = write_video(tmp_path / "v.mp4", scene_frames([20], size=(32, 32)))
    r = run_cli("--input", str(video), "--output", str(blocker / "sub"))
    assert r.returncode == 2 and "not writable" in r.stderr
    for bad, needle in (
        (["--workers", "0"], "--workers"),
        (["--profile", "nope"], "built-in"),
        (["--stages", "segment,magic"], "allowed"),
        (["--device", "tpu"], "allowed"),
    ):
        r = run_cli("--input", str(video), "--output", str(tmp_path / "o2"), *bad)
        assert r.returncode == 2 and needle in r.stderr, (bad, r.stderr)


def test_changed_profile_is_detected(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", scene_frames([20], size=(32, 32)))
    out = tmp_path / "o"
    assert run_cli("--input", str(video), "--output", str(out), "--stages", "segment").returncode == 0
    r = run_cli("--input", str(video), "--output", str(out), "--stages", "segment", "--profile", "official")
    assert r.returncode == 2 and "was made with profile 'paper'" in r.stderr and "--fresh" in r.stderr
    assert (
        run_cli(
            "--input",
            str(video),
            "--output",
            str(out),
            "--stages",
            "segment",
            "--profile",
            "official",
            "--fresh",
        ).returncode
        == 0
    )
