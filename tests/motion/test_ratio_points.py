"""`[motion] ratio_points` (Note [Ratio points]): the stability ratio on the central grid or on the better of
it and the background. Known answers on hand-made tracks, the Numba CPU path against the NumPy reference,
and the stage (klt) on synthetic video: a person moving in front of a still camera, a shaking camera, a pan."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from talkvid_fast.motion import klt, ratio_kernels, sampling
from talkvid_fast.motion import ratio_reference as rr
from talkvid_fast.motion.stage import MotionStage

from . import synthetic, test_klt_validity
from .helpers import deliver, make_clip
from .test_ratio import random_windows

OPEN: dict[str, Any] = {**test_klt_validity.OPEN, "camera_points": "border"}


def _tracks(valid_centre: list[int], valid_border: list[int], n_centre: int = 4, n_border: int = 5):
    """One point per column, still; window w's first valid_centre[w] central points and first
    valid_border[w] border points stay confident, the others drop to confidence 0 at the last frame."""
    n_win, n_t = len(valid_centre), 3
    k = n_centre + n_border
    tracks = np.full((n_win, n_t, k, 2), 10.0, np.float32)
    conf = np.ones((n_win, n_t, k), np.float32)
    for w, (c, b) in enumerate(zip(valid_centre, valid_border, strict=True)):
        conf[w, -1, c:n_centre] = 0.0
        conf[w, -1, n_centre + b :] = 0.0
    return tracks, conf, n_centre


def test_region_ratios_known_answers() -> None:
    # centre 2/4 and 1/4 (mean 0.375), border 5/5 and 4/5 (mean 0.9): `either` counts the border
    tracks, conf, n = _tracks([2, 1], [5, 4])
    ratios, on, means = rr.region_ratios(tracks, conf, n, 100, 100, "either")
    assert on == "border" and means == pytest.approx({"centre": 0.375, "border": 0.9})
    np.testing.assert_allclose(ratios, [1.0, 0.8])
    # the paper's choice: the centre, and the border is not scored at all
    ratios, on, means = rr.region_ratios(tracks, conf, n, 100, 100, "centre")
    assert on == "centre" and set(means) == {"centre"}
    np.testing.assert_allclose(ratios, [0.5, 0.25])
    # a flat or busy background (border 1/5, 0/5) does not pull a steady centre (4/4, 3/4) down
    tracks, conf, n = _tracks([4, 3], [1, 0])
    ratios, on, _ = rr.region_ratios(tracks, conf, n, 100, 100, "either")
    assert on == "centre"
    np.testing.assert_allclose(ratios, [1.0, 0.75])
    # a tie counts the centre; so does a frame without border points
    tracks, conf, n = _tracks([4, 0], [2, 3])  # centre (1 + 0) / 2 = 0.5; border (0.4 + 0.6) / 2 = 0.5
    assert rr.region_ratios(tracks, conf, n, 100, 100, "either")[1] == "centre"
    only = rr.region_ratios(tracks[:, :, :n], conf[:, :, :n], n, 100, 100, "either")
    assert only[1] == "centre" and set(only[2]) == {"centre"}
    with pytest.raises(ValueError, match="allowed: centre, either"):
        rr.region_ratios(tracks, conf, n, 100, 100, "border")
    with pytest.raises(ValueError, match="n_centre"):
        rr.region_ratios(tracks, conf, 0, 100, 100, "either")


@pytest.mark.parametrize("seed", [0, 1])
def test_region_ratios_numba_cpu_equals_reference(seed: int) -> None:
    """random_windows: its first half of points is confident more often than the second, so with the points
    in that order the centre is the better region, and in reverse order the border is."""
    tracks0, conf0, h, w = random_windows(seed, k=200)
    picked = set()
    for tracks, conf, n_centre in (
        (tracks0, conf0, 50),
        (tracks0[:, :, ::-1].copy(), conf0[:, :, ::-1].copy(), 150),
    ):
        for points in ("centre", "either"):
            ref = rr.region_ratios(tracks, conf, n_centre, h, w, points)
            got = rr.region_ratios(
                tracks, conf, n_centre, h, w, points, window_ratios=ratio_kernels.paper_window_ratios_cpu
            )
            np.testing.assert_array_equal(got[0], ref[0])
            assert got[1:] == ref[1:]
            picked.add(ref[1])
    assert picked == {"centre", "border"}  # both outcomes exercised


def _run(params: dict[str, Any], clips: dict[str, np.ndarray]) -> dict[str, Any]:
    stage = MotionStage(params)
    stage.setup()
    batch = []
    for name, frames in clips.items():
        clip = make_clip(frames, fps=25.0, clip_id=f"{name}-scene1")
        (req,) = stage.requests(clip)
        batch.append((clip, {req.name: deliver(frames, req)}))
    return dict(zip(clips, stage.process(batch), strict=True))


def _person_in_front_of_still_camera(n: int, h: int = 512, w: int = 640) -> np.ndarray:
    """A still textured background; a 200 px square in the middle of the central crop is re-drawn with new
    noise every frame (a person moving: nothing there can be tracked from one frame to the next)."""
    background = synthetic.texture(h, w, seed=3)
    rng = np.random.default_rng(7)
    y0, x0 = (h - 200) // 2, (w - 200) // 2
    out = []
    for _ in range(n):
        f = background.copy()
        f[y0 : y0 + 200, x0 : x0 + 200] = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
        out.append(f)
    return np.stack(out)


def test_stage_either_keeps_a_still_camera_behind_a_moving_person_and_rejects_a_shake() -> None:
    """Moving person, still camera: the central ratio drops (< 0.85), the border stays ~1, so `centre`
    rejects the clip as unstable and `either` keeps it, reading the border. A 30 px shake of the whole frame
    drops both regions, so `either` rejects it too; a smooth 6 px/frame pan keeps a high ratio and is
    rejected by the camera speed. The stage's ratios equal the NumPy reference on the stage's own tracks."""
    n = 24
    clips = {
        "person": _person_in_front_of_still_camera(n),
        "shake": synthetic.jitter(n),
        "pan": np.stack([synthetic.shifted(synthetic.texture(512, 640), 6.0 * i, 0) for i in range(n)]),
    }
    centre = _run(OPEN, clips)
    either = _run({**OPEN, "ratio_points": "either"}, clips)
    person_c, person_e = centre["person"], either["person"]
    assert person_c.failed_gate == "stability_ratio" and person_c.scores["stability_ratio"] < 0.85
    assert "stability_ratio_points" not in person_c.scores  # the paper's grid: records as before
    assert person_e.passed and person_e.scores["stability_ratio_points"] == "border"
    assert person_e.scores["stability_ratio_border"] > 0.95
    assert person_e.scores["stability_ratio_centre"] == person_c.scores["stability_ratio"]
    assert person_e.scores["stability_ratio"] == person_e.scores["stability_ratio_border"]
    shake = either["shake"].scores
    assert max(shake["stability_ratio_centre"], shake["stability_ratio_border"]) < 0.85
    assert either["shake"].failed_gate == "stability_ratio"
    pan = either["pan"]  # (on the border, points near the frame's edge leave it: a lower ratio there)
    assert pan.scores["stability_ratio"] > 0.85 and pan.failed_gate == "camera_speed"
    # the reference on the tracks the stage tracks (OpenCV klt, the stage's grid and border lattice)
    stage = MotionStage({**OPEN, "ratio_points": "either"})
    frames = clips["person"]
    clip = make_clip(frames, fps=25.0)
    (req,) = stage.requests(clip)
    view = deliver(frames, req).numpy()
    h, w = view.shape[1:3]
    pts = np.concatenate([sampling.paper_grid(h, w), sampling.border_grid(h, w, 256, 16, 16)])
    plan = sampling.plan_windows(clip)
    kp = klt.KltParams(validity="drift")
    tracks, conf = klt.track_windows(klt.to_gray(view), plan.starts, plan.length, pts, kp)
    ratios, on, means = rr.region_ratios(tracks, conf, 256, h, w, "either")
    assert on == "border" and person_e.scores["stability_ratio"] == pytest.approx(float(ratios.mean()), abs=0)
    assert person_e.scores["stability_ratio_centre"] == means["centre"]


def test_ratio_points_choices_fail_fast() -> None:
    with pytest.raises(ValueError, match="allowed: centre, either"):
        MotionStage({**OPEN, "ratio_points": "border"})
    with pytest.raises(ValueError, match="klt only"):
        MotionStage({"backend": "cotracker", "ratio_points": "either"})
