"""The weight-free `klt` backend: known answers on synthetic video, and the stage end to end."""

from __future__ import annotations

import numpy as np
import pytest

from talkvid_fast.motion import klt, ratio_reference, sampling
from talkvid_fast.motion.stage import MotionStage

from . import synthetic
from .helpers import deliver, make_clip


def klt_ratios(frames: np.ndarray) -> np.ndarray:
    gray = klt.to_gray(frames)
    starts = np.arange(0, len(gray) - 16 + 1, 8)
    pts = sampling.paper_grid(gray.shape[1], gray.shape[2])
    tracks, conf = klt.track_windows(gray, starts, 16, pts)
    return ratio_reference.paper_window_ratios(tracks, conf, gray.shape[1], gray.shape[2])


def test_still_image_is_frozen() -> None:
    ratios = klt_ratios(synthetic.still(32))
    score = ratio_reference.paper_clip_score(ratios)
    assert score["ratio"] > 0.999 and not score["passed"]


def test_smooth_subpixel_drift_is_accepted() -> None:
    ratios = klt_ratios(synthetic.drift(32, speed=0.4))
    score = ratio_reference.paper_clip_score(ratios)
    # only the grid points on the re-drawn 48x48 'mouth' (9 of 256) are lost
    assert 0.95 < score["ratio"] < 0.99 and score["passed"]


def test_tracks_follow_the_drift() -> None:
    frames = synthetic.drift(17, speed=0.4, patch=0)
    gray = klt.to_gray(frames)
    pts = sampling.paper_grid(*gray.shape[1:])
    tracks, conf = klt.track_windows(gray, np.array([0]), 17, pts)
    assert conf.min() == 1.0
    moved = tracks[0, -1] - tracks[0, 0]
    np.testing.assert_allclose(np.median(moved, axis=0), [6.4, 3.2], atol=0.05)


def test_jitter_30px_is_rejected() -> None:
    score = ratio_reference.paper_clip_score(klt_ratios(synthetic.jitter(24, amplitude=30.0)))
    assert score["ratio"] < 0.1 and not score["passed"]


def test_stage_klt_end_to_end_on_synthetic() -> None:
    stage = MotionStage({"backend": "klt"})
    stage.setup()
    batch = []
    for name, frames in (
        ("still", synthetic.still(60)),
        ("drift", synthetic.drift(60)),
        ("jitter", synthetic.jitter(60)),
    ):
        clip = make_clip(frames, fps=30.0, clip_id=f"{name}-scene1")
        (req,) = stage.requests(clip)
        assert req.size == (512, 640) and len(req.indices) == 50  # 2 s at 25 fps
        batch.append((clip, {req.name: deliver(frames, req)}))
    still, drift, shaky = stage.process(batch)
    for r in (still, drift, shaky):
        assert r.backend == "klt" and r.scores["tracker"] == "klt" and r.error is None
        assert r.scores["stability_windows"] == 5
    assert still.scores["stability_verdict"] == "frozen" and not still.passed
    assert drift.passed and drift.gates == {"stability_ratio": True}
    assert shaky.scores["stability_verdict"] == "unstable" and shaky.failed_gate == "stability_ratio"


def test_auto_without_weights_falls_back_to_klt(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    stage = MotionStage({"backend": "auto"})
    stage.setup()
    assert stage.backend == "klt" and stage.label == "klt"
    from talkvid_fast.weights import WeightsMissing

    with pytest.raises(WeightsMissing, match="fetch cotracker"):
        MotionStage({"backend": "cotracker"}).setup()
    with pytest.raises(WeightsMissing):
        MotionStage({"method": "official", "backend": "auto"}).setup()
