"""Note [Throughput model]: known component rates give a known prediction (worked out by hand here), and the
harness's result files feed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkvid_fast.rtf._throughput import Component, from_clips, from_fps, predict
from talkvid_fast.rtf.predict import components_from_results, main


def test_known_rates_give_the_known_prediction() -> None:
    comps = [
        from_fps("nvdec", "nvdec", 350, 25, units=7),  # 7 engines x 350 fps of 25 fps video: RTF 98
        from_clips("quality", "gpu", 40, 5.0, fraction=0.6),  # 200 video-s/s on 60 % of the video
        from_clips("motion", "gpu", 30, 5.0, fraction=0.6),  # 150
        Component("head", "gpu", 100.0, 0.6),
        Component("scene detector", "cpu", 500.0),
        from_fps("x264", "encoder", 60, 25, units=8, fraction=0.3),  # 8 threads x 2.4 on 30 % of the video
    ]
    pred = predict(comps)
    # by hand: nvdec 1/98; gpu 0.6/200 + 0.6/150 + 0.6/100 = 0.003 + 0.004 + 0.006; cpu 1/500; encoder
    # 0.3 / 19.2 = 0.015625 -> the encoder bounds the overlapped pipeline at 1 / 0.015625 = 64
    assert pred.loads == pytest.approx({"nvdec": 1 / 98, "gpu": 0.013, "cpu": 0.002, "encoder": 0.015625})
    assert pred.bound == "encoder" and pred.rtf_overlapped == pytest.approx(64.0)
    assert pred.rtf_serial == pytest.approx(1 / (1 / 98 + 0.013 + 0.002 + 0.015625))
    # twice the encoder threads: now the GPU's models bound it, at 1 / 0.013
    pred2 = predict([*comps[:-1], from_fps("x264", "encoder", 60, 25, units=16, fraction=0.3)])
    assert pred2.bound == "gpu" and pred2.rtf_overlapped == pytest.approx(1 / 0.013)


def test_bad_components_are_rejected() -> None:
    with pytest.raises(ValueError, match="need rate > 0"):
        Component("x", "gpu", 0.0)
    with pytest.raises(ValueError, match="0 <= fraction <= 1"):
        Component("x", "gpu", 1.0, fraction=1.5)
    with pytest.raises(ValueError, match="at least one component"):
        predict([])


def _results(device: str) -> dict:
    m = lambda name, vs, rtf: {"name": name, "video_seconds": vs, "rtf": rtf, "not_run": None}  # noqa: E731
    return {
        "environment": {"device": "test device"},
        "corpus": {"video_seconds": 100.0, "sources": [{"file": "a.mp4"}]},
        "settings": {"device": device},
        "measurements": {
            "decode": m("decode", 100.0, 4.0),
            "segment": m("segment", 100.0, 2.0),  # 1/2 - 1/4 = 1/4 beyond the decode: rate 4
            "quality": m("quality", 80.0, 1.0),
            "motion": {**m("motion", 80.0, None), "not_run": "weights missing"},
            "head": m("head", 80.0, 8.0),
            "pipeline": m("pipeline", 100.0, 0.9),
        },
    }


def test_harness_results_feed_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comps, measured = components_from_results(_results("cuda:0"))
    got = {c.name: (c.resource, c.rate, c.fraction) for c in comps}
    assert got == {
        "decode": ("nvdec", 4.0, 1.0),
        "stage 1 beyond decode": ("cpu", pytest.approx(4.0), 1.0),
        "quality": ("gpu", 1.0, 0.8),
        "head": ("gpu", 8.0, 0.8),
    }
    assert measured == 0.9
    pred = predict(comps)  # gpu: 0.8 + 0.1 = 0.9 bounds it; serial 1 / (0.25 + 0.25 + 0.9)
    assert pred.bound == "gpu" and pred.rtf_overlapped == pytest.approx(1 / 0.9)
    assert pred.rtf_serial == pytest.approx(1 / 1.4)
    cpu_comps, _ = components_from_results(_results("cpu"))
    assert {c.resource for c in cpu_comps} == {"cpu"}  # one resource: overlapped == serial
    f = tmp_path / "r.json"
    f.write_text(json.dumps(_results("cuda:0")))
    out = tmp_path / "p.json"
    assert main([str(f), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bound by gpu" in text and "measured end-to-end RTF: 0.900" in text
    assert json.loads(out.read_text())["rtf_overlapped"] == pytest.approx(1 / 0.9, abs=1e-3)
