"""The six head scores: reference by hand, Numba CPU and Numba CUDA (simulator) against the reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.head.scores_kernels import head_scores_cpu
from talkvid_fast.head.scores_reference import SCORE_NAMES, ClipFaces, head_scores, scores_dict, verdict

from ._score_cases import random_clips

REPO = Path(__file__).resolve().parents[2]


def _face(x: float, y: float) -> np.ndarray:
    return np.array([[x - 10, y], [x + 10, y], [x, y + 10], [x - 8, y + 20], [x + 8, y + 20]], float)


def test_reference_by_hand() -> None:
    kps = np.stack([_face(100, 50), _face(104, 50), _face(104, 50)])
    pose = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 0.0]])
    box = np.array([[80, 80, 120, 130], [84, 80, 124, 130], [84, 80, 124, 130]], float)
    c = ClipFaces(200, 100, np.array([1, 1, 2, 1]), kps, pose, box)
    s = dict(zip(SCORE_NAMES, head_scores(c), strict=True))
    # movement: pair 0 moves every x by 4 -> mean |d| = 4*5/10 = 2 -> m = 2/100; pair 1: 0
    assert s["avg_movement"] == pytest.approx(100 - 100 * 0.01) and s["min_movement"] == pytest.approx(98)
    assert s["avg_rotation"] == pytest.approx(100 - 2.5) and s["min_rotation"] == pytest.approx(95)
    o = np.sqrt((3 / 180 * 100) ** 2 + (4 / 180 * 100) ** 2)
    assert s["avg_orientation"] == pytest.approx(100 - 2 * o / 3) and s["min_orientation"] == pytest.approx(
        100 - o
    )
    assert s["avg_completeness"] == 100 and s["min_completeness"] == 100
    r = 100 * 40 * 50 / (200 * 100)
    assert s["avg_resolution"] == pytest.approx(30 * r) and s["min_resolution"] == pytest.approx(30 * r)
    assert s["face_consistency"] == 80  # one sampled frame had two faces
    gates, passed, failed = verdict(head_scores(c))
    assert passed and failed is None and all(gates.values())


def test_completeness_edges_and_single_face_rule() -> None:
    k = _face(100, 50)
    k[0] = (200, 10)  # x == W: outside
    k[3] = (0, 99)  # on the lower-left corner pixel: inside
    c = ClipFaces(
        200, 100, np.array([1, 0, 0, 0, 0, 0]), k[None], np.zeros((1, 3)), np.array([[0, 0, 2, 2.0]])
    )
    s = dict(zip(SCORE_NAMES, head_scores(c), strict=True))
    assert s["avg_completeness"] == pytest.approx(0.3 * 100 / 2 + 40 + 30)
    assert s["avg_movement"] == s["min_movement"] == s["avg_rotation"] == s["min_rotation"] == 100  # K < 2
    assert s["face_consistency"] == 0  # 100 - 20 * 5, floored
    gates, passed, failed = verdict(head_scores(c))
    assert not passed and failed == "completeness_avg" and not gates["resolution_avg"]


def test_no_face() -> None:
    c = ClipFaces(64, 64, np.array([0, 2, 0]), np.zeros((0, 5, 2)), np.zeros((0, 3)), np.zeros((0, 4)))
    s = head_scores(c)
    gates, passed, failed = verdict(s)
    assert failed == "no_face" and not passed and gates == {"face_consistency": False}
    d = scores_dict(s)
    assert d["avg_movement"] is None and d["face_consistency"] == 40 and d["num_single_face"] == 0


def test_thresholds_are_parameters() -> None:
    c = random_clips(3, 1)[0]
    with pytest.raises(ValueError, match="allowed"):
        verdict(head_scores(c), {"movement": 1.0})


def test_numba_cpu_matches_reference() -> None:
    clips = random_clips(0, 60)
    ref = np.stack([head_scores(c) for c in clips])
    got = head_scores_cpu(clips)
    assert np.array_equal(np.isnan(ref), np.isnan(got))
    assert np.nanmax(np.abs(ref - got)) < 1e-9


_SIM = """
import numpy as np
from tests.head._score_cases import random_clips
from talkvid_fast.head.scores_reference import head_scores
from talkvid_fast.head.scores_kernels import head_scores_cuda
clips = random_clips(5, 30)
ref = np.stack([head_scores(c) for c in clips])
got = head_scores_cuda(clips)
assert np.array_equal(np.isnan(ref), np.isnan(got))
print("maxdiff", np.nanmax(np.abs(ref - got)))
assert np.nanmax(np.abs(ref - got)) < 1e-9
"""


def test_numba_cuda_kernel_under_simulator() -> None:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", _SIM], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "maxdiff" in proc.stdout
