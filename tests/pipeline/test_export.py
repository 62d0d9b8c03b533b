"""Exported clips are frame-accurate: the MP4 holds exactly the clip's frames, audio and cues line up."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np

from tests.conftest import decode_rgb
from tests.media import scene_frames, write_video
from tests.pipeline.helpers import journal, run_cli


def test_export_cuts_the_exact_frames_with_audio_and_cues(tmp_path: Path) -> None:
    fps, sr = 10, 16_000
    frames = scene_frames([80, 70], size=(64, 96))  # scenes [0, 8 s) and [8 s, 15 s)
    t = np.arange(15 * sr) / sr
    audio = (8000 * np.sin(2 * np.pi * 440 * t) * (t >= 8.0)).astype(np.int16)  # silent first scene
    src = tmp_path / "in" / "talk.mp4"
    src.parent.mkdir()
    write_video(src, frames, fps=fps, audio=audio, sample_rate=sr)
    (src.parent / "talk.vtt").write_text(
        "WEBVTT\n\n00:00:09.000 --> 00:00:10.000\nhello\n\n00:00:01.000 --> 00:00:02.000\nfirst\n"
    )
    out = tmp_path / "out"
    r = run_cli("--input", str(src), "--output", str(out), "--stages", "segment,export")
    assert r.returncode == 0, r.stderr
    clips = {c["clip_id"]: c for c in journal(out) if c["kind"] == "clip"}
    c2 = clips["talk-scene2"]
    assert c2["passed"] and c2["start_frame"] == 83 and c2["end_frame"] == 149  # 8.3 s .. 14.9 s
    record = next(x for x in json.loads((out / "talkvid.json").read_text()) if x["id"] == "talk-scene2")
    got = decode_rgb(out / record["video-path"])
    want = decode_rgb(src)[83:149]
    assert got.shape == want.shape
    psnr = 10 * np.log10(255**2 / np.mean((got.astype(float) - want.astype(float)) ** 2))
    assert psnr > 30, psnr
    with wave.open(str(out / record["audio-path"])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
        assert abs(w.getnframes() / 16_000 - 6.6) < 0.05
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert np.abs(samples).max() > 4000  # the tone of the second scene
    vtt = (out / record["subtitle-path"]).read_text()
    assert "00:00:00.700 --> 00:00:01.700\nhello" in vtt and "first" not in vtt
    png = out / record["first-frame-path"]
    assert png.is_file()
    import cv2

    bgr = cv2.imread(str(png))
    assert bgr is not None
    first = bgr[..., ::-1]
    assert np.abs(first.astype(int) - got[0].astype(int)).mean() < 3
    assert record["metadata"]["duration"] == 6.6 and record["metadata"]["resolution"] == [96, 64]
    assert record["metadata"]["quality_score"] is None  # quality was not asked for
