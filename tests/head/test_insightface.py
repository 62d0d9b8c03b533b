"""InsightFace backend pre/post-processing (the buffalo_l models themselves cannot be downloaded here)."""

from __future__ import annotations

import numpy as np
import pytest

from talkvid_fast.head._meanshape_68 import MEANSHAPE_68
from talkvid_fast.head.insightface_backend import (
    insightface_nms,
    insightface_pose,
    landmark_crop_matrix,
    landmarks_from_output,
    scrfd_blob,
    scrfd_decode,
    scrfd_resize,
)
from talkvid_fast.head.pose import euler_to_matrix


def test_pose_formula_recovers_rotation() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.uniform([-40, -60, -40], [40, 60, 40])
        pts = 90.0 * MEANSHAPE_68 @ euler_to_matrix(*a).T + rng.uniform(0, 500, 3)
        assert np.allclose(insightface_pose(pts), a, atol=1e-6)


def test_scrfd_resize_and_blob() -> None:
    assert scrfd_resize(720, 1280, 640) == (360, 640, 0.5)
    assert scrfd_resize(1280, 720, 640)[:2] == (640, 360)
    frame = np.full((720, 1280, 3), 255, np.uint8)
    blob, scale = scrfd_blob(frame, 640)
    assert blob.shape == (1, 3, 640, 640) and scale == 0.5
    assert blob[0, :, :360].min() == pytest.approx(127.5 / 128) and blob[0, :, 360:].max() == pytest.approx(
        -127.5 / 128
    )


def test_scrfd_decode_one_anchor() -> None:
    size = 640
    outs = []
    for stride in (8, 16, 32):
        outs.append(np.zeros(((size // stride) ** 2 * 2, 1), np.float32))
    for stride in (8, 16, 32):
        outs.append(np.zeros(((size // stride) ** 2 * 2, 4), np.float32))
    for stride in (8, 16, 32):
        outs.append(np.zeros(((size // stride) ** 2 * 2, 10), np.float32))
    n = size // 16
    cell = 3 * n + 5  # row 3, column 5 of stride 16 -> centre (80, 48); second anchor
    outs[1][2 * cell + 1, 0] = 0.9
    outs[4][2 * cell + 1] = [1, 2, 3, 4]
    outs[7][2 * cell + 1] = np.arange(10) / 10
    scores, boxes, kps = scrfd_decode(outs, size, 0.5)
    assert scores.tolist() == pytest.approx([0.9])
    assert boxes[0].tolist() == pytest.approx([80 - 16, 48 - 32, 80 + 48, 48 + 64])
    assert kps[0, 0].tolist() == pytest.approx([80 + 0, 48 + 1.6]) and kps[0, 4].tolist() == pytest.approx(
        [80 + 12.8, 48 + 14.4]
    )


def test_nms_plus_one_areas() -> None:
    dets = np.array([[0, 0, 9, 9, 0.9], [5, 0, 14, 9, 0.8], [100, 100, 110, 110, 0.7]], np.float32)
    # IoU with +1 areas: inter 5*10 = 50, union 100 + 100 - 50 = 150 -> 0.33 <= 0.4: kept
    assert insightface_nms(dets) == [0, 1, 2]
    assert insightface_nms(dets, 0.3) == [0, 2]


def test_landmark_crop_roundtrip() -> None:
    box = np.array([100.0, 50.0, 180.0, 150.0])
    m = landmark_crop_matrix(box)
    assert m[0, 0] == pytest.approx(192 / 150)  # 192 / (1.5 * max(80, 100))
    # a point at the crop centre is the box centre; model outputs are in [-1, 1] around the crop centre
    pred = np.zeros((1103, 3))
    pts = landmarks_from_output(pred.reshape(-1), m)
    assert pts.shape == (68, 3) and np.allclose(pts[:, :2], (140, 100))  # crop centre (96, 96) = box centre
    pred[-68:, :2] = -1
    pts = landmarks_from_output(pred.reshape(-1), m)
    assert np.allclose(pts[:, :2], (140 - 75, 100 - 75))  # crop origin = centre - 1.5 * max side / 2
