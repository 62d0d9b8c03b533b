"""The transnetv2 detector through stage 1 (segment_source, the shared scan) on a real multishot clip, and its
profile parameters."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.decode import open_decoder
from talkvid_fast.segment import SegmentParams, segment_source

CLIP = "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4"


def test_profile_keys_fail_fast() -> None:
    params = SegmentParams.from_profile({"detector": "transnetv2"})
    assert params.detector_params == {}  # the detector's own defaults (threshold 0.5), not histogram's
    with pytest.raises(
        ValueError, match=r"unknown \['min_scene_len'\]; allowed: threshold, runtime, precision, batch"
    ):
        SegmentParams.from_profile({"detector": "transnetv2", "detector_params": {"min_scene_len": 15}})
    with pytest.raises(ValueError, match="runtime 'trt'; allowed: auto, tensorrt, torch, onnxruntime"):
        SegmentParams.from_profile({"detector": "transnetv2", "detector_params": {"runtime": "trt"}})
    with pytest.raises(ValueError, match="precision 'int8'; allowed: fp16, bf16, fp32"):
        SegmentParams.from_profile({"detector": "transnetv2", "detector_params": {"precision": "int8"}})
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        SegmentParams.from_profile({"detector": "transnetv2", "detector_params": {"threshold": 1.5}})
    with pytest.raises(ValueError, match=r"detector 'transnet'; allowed: histogram, .*, transnetv2"):
        SegmentParams.from_profile({"detector": "transnet"})


def test_stage1_finds_the_labelled_hard_cuts(testmedia: Path, transnet_cache: Path) -> None:
    labels = {x["file"]: x["labels"] for x in json.loads((testmedia / "labels.json").read_text())}
    truth = labels[CLIP]["cuts"]["value"]  # seconds: [3.75, 8.76]
    params = SegmentParams.from_profile({"detector": "transnetv2", "speech_gate": "off"})
    decoder = open_decoder(str(testmedia / CLIP), "pyav", "cpu")
    try:
        seg = segment_source(decoder, {"video-id": "goldeneye"}, params)
    finally:
        decoder.close()
    times = seg.scan.times
    cut_times = [float(times[a]) for a, _ in seg.scenes[1:]]
    frame = float(np.median(np.diff(times)))
    assert len(cut_times) == len(truth)
    assert all(abs(c - t) <= frame for c, t in zip(cut_times, truth, strict=True)), (cut_times, truth)
    # scenes tile the source; the usual trims, 5 s rule and ids follow
    assert seg.scenes[0][0] == 0 and seg.scenes[-1][1] == len(times)
    assert all(a == b for (_, a), (b, _) in pairwise(seg.scenes))
    assert [v.clip.clip_id for v in seg.verdicts] == [
        "goldeneye-scene1",
        "goldeneye-scene2",
        "goldeneye-scene3",
    ]
    assert [v.failed_gate for v in seg.verdicts] == [
        "duration",
        "duration",
        "duration",
    ]  # 3.8 s, 5.0 s, 1.2 s


def test_a_run_without_the_weights_stops_before_any_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """detector = "transnetv2" with no weights fetched: the run refuses to start and names the fetch command
    (it used to start and end every source as internal_error)."""
    from talkvid_fast.run import EXIT_CANNOT_START, main
    from tests.media import scene_frames, write_video

    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "empty_home"))
    (tmp_path / "in").mkdir()
    write_video(tmp_path / "in" / "a.mp4", scene_frames([30]))
    out = tmp_path / "out"
    code = main(["--input", str(tmp_path / "in"), "--output", str(out), "--profile", "open", "--no-progress"])
    assert code == EXIT_CANNOT_START
    assert "python -m talkvid_fast.weights fetch transnetv2" in capsys.readouterr().err
    assert not (out / "journal.jsonl").exists()  # no source was started
