"""The stability ratios: NumPy reference semantics, and the Numba CPU / CUDA (simulator) fast paths."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.motion import ratio_kernels as rk
from talkvid_fast.motion import ratio_reference as rr

REPO = Path(__file__).resolve().parents[2]


def random_windows(seed: int, n_win: int = 7, t: int = 16, k: int = 256, h: int = 512, w: int = 640):
    """Random walks with some big jumps, some exits and some low-confidence frames; exact-boundary cases."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([-5, -5], [w + 5, h + 5], size=(n_win, 1, k, 2))
    steps = rng.normal(0, 4, size=(n_win, t, k, 2))
    jumps = rng.random((n_win, t, k, 1)) < 0.01
    steps = np.where(jumps, steps * 8, steps)
    steps[:, 0] = 0
    tracks = (start + np.cumsum(steps, axis=1)).astype(np.float32)
    tracks[0, 1:, 0] = tracks[0, :-1, 0] + np.float32(20.0)  # displacement exactly 20 px: valid
    tracks[0, :, 1] = [0.0, float(h - 1)]  # exactly on the frame edge: inside
    conf = rng.uniform(0.3, 1.0, size=(n_win, t, k)).astype(np.float32)
    conf[:, :, : k // 2] = np.maximum(conf[:, :, : k // 2], 0.6)
    conf[1, 3, 5] = 0.5  # exactly the threshold: confident
    return tracks, conf, h, w


def test_paper_reference_semantics() -> None:
    h, w = 100, 200
    tracks = np.zeros((1, 3, 4, 2), np.float32)
    tracks[0, :, :, 0] = np.array([[10, 10, 10, 10], [11, 30.5, 10, 10], [12, 30.5, 10, 10]])
    tracks[0, :, :, 1] = 50
    tracks[0, 2, 2] = [200.0, 50]  # leaves the frame (x > W - 1) and jumps > 20 px
    tracks[0, :, 3] = [[10, 99], [10, 99], [10, 99]]  # on the bottom edge: inside
    conf = np.ones((1, 3, 4), np.float32)
    conf[0, 1, 3] = 0.49
    # point 0 valid; point 1 jumps 20.5 px; point 2 leaves; point 3 unconfident once
    np.testing.assert_array_equal(rr.paper_window_ratios(tracks, conf, h, w), [0.25])
    score = rr.paper_clip_score(np.array([0.9, 1.0, 0.95]))
    assert score["ratio"] == pytest.approx(0.95) and score["ratio_min"] == 0.9 and score["passed"]
    assert not rr.paper_clip_score(np.array([1.0, 1.0]))["passed"]  # frozen
    assert not rr.paper_clip_score(np.array([0.5, 0.9]))["passed"]  # shaky


def test_official_reference_semantics() -> None:
    vis = np.array([[0.0, 0.0], [0.95, 0.9], [0.91, 0.2]], np.float32)
    # frame 0 forced visible (2), frame 1: 0.95 only (0.9 is not > 0.9), frame 2: 0.91 -> 4 of 6
    assert rr.official_segment_ratio(vis) == pytest.approx(4 / 6)
    assert rr.official_clip_ratio([vis, np.ones((2, 2), np.float32)]) == pytest.approx(4 / 6)


@pytest.mark.parametrize("seed", [0, 1])
def test_cpu_matches_reference(seed: int) -> None:
    tracks, conf, h, w = random_windows(seed)
    ref = rr.paper_window_ratios(tracks, conf, h, w)
    assert 0.05 < ref.mean() < 0.95  # the data exercises both outcomes
    np.testing.assert_array_equal(rk.paper_window_ratios_cpu(tracks, conf, h, w), ref)
    rng = np.random.default_rng(seed)
    vis = rng.uniform(0.6, 1.0, size=(30, 500)).astype(np.float32)
    vis[3, :7] = np.float32(0.9)
    bounds = np.array([0, 12, 12 + 11, 30])
    ref_o = [rr.official_segment_ratio(vis[a:b]) for a, b in itertools.pairwise(bounds)]
    np.testing.assert_array_equal(
        rk.official_segment_ratios_cpu(vis, bounds), np.array(ref_o, dtype=np.float32)
    )


_SIM_SCRIPT = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from tests.motion.test_ratio import random_windows
from talkvid_fast.motion import ratio_kernels as rk
from talkvid_fast.motion import ratio_reference as rr
tracks, conf, h, w = random_windows(0, n_win=3, t=6, k=40)
either = rr.region_ratios(
    tracks[:, :, ::-1], conf[:, :, ::-1], 30, h, w, "either", window_ratios=rk.paper_window_ratios_cuda
)
rng = np.random.default_rng(3)
vis = rng.uniform(0.7, 1.0, size=(9, 30)).astype(np.float32)
bounds = np.array([0, 4, 9])
print(json.dumps({
    "paper": rk.paper_window_ratios_cuda(tracks, conf, h, w).tolist(),
    "official": rk.official_segment_ratios_cuda(vis, bounds).tolist(),
    "either": [either[0].tolist(), either[1], either[2]],
}))
"""


def test_cuda_kernels_under_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _SIM_SCRIPT, str(REPO)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    tracks, conf, h, w = random_windows(0, n_win=3, t=6, k=40)
    np.testing.assert_array_equal(got["paper"], rr.paper_window_ratios(tracks, conf, h, w))
    # Note [Ratio points] with the CUDA kernel: reversed, the 10 last points (the border) are the better region
    ref = rr.region_ratios(tracks[:, :, ::-1], conf[:, :, ::-1], 30, h, w, "either")
    assert ref[1] == "border"
    np.testing.assert_array_equal(got["either"][0], ref[0])
    assert got["either"][1:] == [ref[1], ref[2]]
    rng = np.random.default_rng(3)
    vis = rng.uniform(0.7, 1.0, size=(9, 30)).astype(np.float32)
    official = [rr.official_segment_ratio(vis[:4]), rr.official_segment_ratio(vis[4:])]
    np.testing.assert_array_equal(
        np.array(got["official"], dtype=np.float32), np.array(official, dtype=np.float32)
    )
