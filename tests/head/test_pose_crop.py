"""Head pose by rigid fit, the crop warp (torch vs NumPy reference), ROI maps, anchors and NMS."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.head.anchors import FULL_RANGE, SHORT_RANGE, make_anchors, weighted_nms
from talkvid_fast.head.crop import BORDER_REPLICATE, BORDER_ZERO, Roi, face_roi, warp, warp_reference
from talkvid_fast.head.facemesh import five_keypoints
from talkvid_fast.head.pose import euler_to_matrix, head_pose, matrix_to_euler, template_to_image


def test_pose_recovered_within_one_degree() -> None:
    rng = np.random.default_rng(0)
    angles = rng.uniform([-45, -70, -45], [45, 70, 45], (100, 3))
    lms = np.stack(
        [
            template_to_image(euler_to_matrix(*a), rng.uniform(5, 30), tuple(rng.uniform(0, 1000, 2)))
            + rng.normal(0, 0.5, (468, 3))  # half-pixel landmark noise
            for a in angles
        ]
    )
    got = head_pose(lms)
    assert np.abs(got - angles).max() < 1.0
    assert np.allclose(head_pose(template_to_image(np.eye(3), 10.0, (50, 60))[None]), 0, atol=1e-9)


def test_euler_roundtrip_and_signs() -> None:
    for a in [(10, 0, 0), (0, 20, 0), (0, 0, -30), (15, -25, 35)]:
        assert np.allclose(matrix_to_euler(euler_to_matrix(*a)), a)
    # a head turned so that its nose moves to the image right has positive yaw in the x-right/y-up frame
    lm = template_to_image(euler_to_matrix(0, 30, 0), 10.0, (0, 0))
    assert lm[1, 0] > 0 and head_pose(lm[None])[0, 1] == pytest.approx(30, abs=1e-6)


@pytest.mark.parametrize("border", [BORDER_ZERO, BORDER_REPLICATE])
def test_warp_torch_matches_reference(border: int) -> None:
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (3, 37, 53, 3), dtype=np.uint8)
    rois = [Roi(20.0, 15.0, 40.0, 0.3), Roi(50.0, 30.0, 25.0, -1.2), Roi(26.5, 18.5, 53.0, 0.0)]
    mats = np.stack([r.matrix(24) for r in rois])
    idx = np.array([0, 2, 1])
    ref = warp_reference(imgs, idx, mats, 24, 24, 2 / 255, -1, border)
    got = warp(
        torch.from_numpy(imgs),
        torch.from_numpy(idx),
        torch.from_numpy(mats).float(),
        24,
        24,
        2 / 255,
        -1,
        border,
        use_native=False,
    )
    assert np.abs(got.numpy() - ref).max() < 1e-4


def test_roi_matrix_and_to_frame_agree() -> None:
    roi = Roi(120.0, 80.0, 64.0, 0.4)
    m = roi.matrix(192)
    for o in [(0.0, 0.0), (191.0, 5.0), (95.5, 95.5)]:
        src_idx = m @ np.array([o[0], o[1], 1.0])
        cont = roi.to_frame(np.array([[o[0] + 0.5, o[1] + 0.5]]), 192)[0]  # pixel centre in continuous coords
        assert np.allclose(src_idx + 0.5, cont)
    assert np.allclose(roi.to_frame(np.array([[96.0, 96.0]]), 192)[0], (120, 80))


def test_face_roi_levels_the_eyes() -> None:
    det = np.zeros(16)
    det[:4] = 100, 100, 200, 180
    det[4:8] = 130, 150, 170, 110  # image-left eye lower: the crop rotates by atan2(-40, 40) = -45 deg
    roi = face_roi(det, 400, 400)
    assert roi.theta == pytest.approx(-np.pi / 4)
    assert roi.side == pytest.approx(150) and (roi.cx, roi.cy) == (150, 140)


def test_anchor_counts_and_layout() -> None:
    a = make_anchors(SHORT_RANGE)
    assert a.shape == (896, 2) and np.allclose(a[0], (0.5 / 16, 0.5 / 16)) and np.allclose(a[1], a[0])
    assert np.allclose(a[512], (0.5 / 8, 0.5 / 8)) and np.allclose(a[512:518], a[512])
    b = make_anchors(FULL_RANGE)
    assert b.shape == (2304, 2) and np.allclose(b[1], (1.5 / 48, 0.5 / 48))


def test_weighted_nms_averages_overlapping_boxes() -> None:
    d = np.zeros((3, 16), np.float32)
    d[0, :4] = 0, 0, 10, 10
    d[1, :4] = 1, 1, 11, 11
    d[2, :4] = 50, 50, 60, 60
    kept, s = weighted_nms(d, np.array([0.9, 0.6, 0.7], np.float32), 0.3)
    assert len(kept) == 2 and s.tolist() == pytest.approx([0.9, 0.7])
    assert kept[0, 0] == pytest.approx(0.6 / 1.5)  # (0*0.9 + 1*0.6) / 1.5
    assert kept[1, 0] == 50


def test_five_keypoints_from_mesh_indices() -> None:
    lm = torch.zeros(468, 3)
    lm[33, :2] = torch.tensor([10.0, 20.0])
    lm[133, :2] = torch.tensor([20.0, 20.0])
    lm[362, :2] = torch.tensor([40.0, 22.0])
    lm[263, :2] = torch.tensor([50.0, 22.0])
    lm[1, :2] = torch.tensor([30.0, 40.0])
    lm[61, :2] = torch.tensor([18.0, 60.0])
    lm[291, :2] = torch.tensor([42.0, 60.0])
    k = five_keypoints(lm)
    assert k.tolist() == [[15, 20], [45, 22], [30, 40], [18, 60], [42, 60]]
