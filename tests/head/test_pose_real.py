"""Head pose sanity on real clips: lively vs stable heads, turn directions, and horizontal mirroring.

Measured on this CPU with the facemesh backend (pitch / yaw / roll ranges in degrees over the sampled
frames): KatieHill (lively, 10 frames) 23.4 / 33.7 / 10.0; d6 (exaggerated, 34 frames) 13.7 / 14.3 / 14.5;
d18 (very stable, 9 frames) 5.5 / 3.2 / 3.9; d19 (very stable, 11 frames) 8.5 / 4.9 / 6.9.
Mirrored frames (6): the network's pose differs from the exact mirror (pitch, -yaw, -roll) by at most
1.2 / 4.0 / 0.7 deg, its landmarks by 0.9 % of the face width on average; the exact mirror of the
landmarks gives exactly (pitch, -yaw, -roll).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.head._facemesh_backend import FaceMeshBackend, Faces
from talkvid_fast.head.pose import CANONICAL_FACE, head_pose
from tests.conftest import decode_rgb

LIVELY = {"sadtalker__WDA_KatieHill_000.mp4": 20, "liveportrait__d6.mp4": 30}  # file -> frame step
STABLE = {"liveportrait__d18.mp4": 24, "liveportrait__d19.mp4": 24}
#: frames (index into the sampled frames) that are mirrored: clear left / right turns, tilts, frontal
MIRRORED = {"sadtalker__WDA_KatieHill_000.mp4": [2, 3, 9], "liveportrait__d6.mp4": [12, 28],
            "liveportrait__d18.mp4": [0]}  # fmt: skip
#: KatieHill frames 40, 60 turn to the image left, 180 to the image right (checked by eye)
TURNS = {2: -1, 3: -1, 9: 1}


def _mirror_permutation() -> np.ndarray:
    """(468,) index of each mesh vertex's mirror twin (the canonical face is exactly left-right symmetric)."""
    mirrored = CANONICAL_FACE * np.array([-1.0, 1.0, 1.0])
    d = np.linalg.norm(mirrored[:, None] - CANONICAL_FACE[None], axis=-1)
    assert d.min(1).max() < 1e-9
    return d.argmin(1)


@pytest.fixture(scope="module")
def backend(facemesh_dir: Path) -> FaceMeshBackend:
    return FaceMeshBackend(torch.device("cpu"))


@pytest.fixture(scope="module")
def analysed(testmedia: Path, backend: FaceMeshBackend) -> dict[str, tuple[np.ndarray, list[Faces]]]:
    """file -> (sampled frames (N, H, W, 3) uint8, their Faces); one face in every sampled frame."""
    out = {}
    for name, step in {**LIVELY, **STABLE}.items():
        frames = decode_rgb(testmedia / "positives" / name, step=step)
        faces = backend.analyze([torch.from_numpy(frames)])[0]
        assert [f.count for f in faces] == [1] * len(frames), name
        out[name] = (frames, faces)
    return out


def _poses(faces: list[Faces]) -> np.ndarray:
    return np.array([f.pose[0] for f in faces])  # (N, 3) pitch, yaw, roll


def test_lively_heads_turn_more_than_stable_ones(analysed: dict[str, tuple[np.ndarray, list[Faces]]]) -> None:
    rng = {name: np.ptp(_poses(analysed[name][1]), axis=0) for name in analysed}
    stable = np.max([rng[n] for n in STABLE], axis=0)
    assert stable[1] < 8.0  # the very stable heads barely turn
    for name in LIVELY:
        assert rng[name][1] > 2 * stable[1], (name, rng)  # yaw range
    katie = rng["sadtalker__WDA_KatieHill_000.mp4"]
    assert katie[0] > 2 * stable[0] and katie[1] > 25.0, rng  # KatieHill also nods: pitch range


def test_turn_direction_on_real_frames(analysed: dict[str, tuple[np.ndarray, list[Faces]]]) -> None:
    poses = _poses(analysed["sadtalker__WDA_KatieHill_000.mp4"][1])
    for i, sign in TURNS.items():
        assert np.sign(poses[i, 1]) == sign and abs(poses[i, 1]) > 10.0, (i, poses[i])
    # yaw > 0 <=> the nose tip lies right of the eyes' midpoint in the image, on every clearly turned frame
    for _, faces in analysed.values():
        for f in faces:
            k, yaw = f.kps[0], f.pose[0, 1]
            if abs(yaw) > 8.0:
                assert np.sign(k[2, 0] - (k[0, 0] + k[1, 0]) / 2) == np.sign(yaw), f.pose


def test_mirrored_frames_flip_yaw_and_roll(
    analysed: dict[str, tuple[np.ndarray, list[Faces]]], backend: FaceMeshBackend
) -> None:
    perm = _mirror_permutation()
    batch = [np.ascontiguousarray(analysed[n][0][idx][:, :, ::-1]) for n, idx in MIRRORED.items()]
    mirrored = backend.analyze([torch.from_numpy(b) for b in batch])
    for (name, idx), faces_m in zip(MIRRORED.items(), mirrored, strict=True):
        frames, faces = analysed[name]
        w = frames.shape[2]
        for i, fm in zip(idx, faces_m, strict=True):
            assert fm.count == 1
            f = faces[i]
            p, pm = f.pose[0], fm.pose[0]
            # exact: the mirror image of the landmarks (x -> W - x, twin vertices swapped) has pose (p, -y, -r)
            lm_m = f.landmarks[0][perm] * np.array([-1.0, 1.0, 1.0]) + np.array([w, 0.0, 0.0])
            assert np.allclose(head_pose(lm_m[None])[0], p * np.array([1, -1, -1]), atol=1e-6)
            # the network on the mirrored frame: the same landmarks up to its own (non-equivariant) error
            face_w = f.box[0, 2] - f.box[0, 0]
            assert np.abs(fm.landmarks[0, :, :2] - lm_m[:, :2]).mean() < 0.015 * face_w
            err = np.abs(pm - p * np.array([1, -1, -1]))  # pitch kept, yaw and roll negated
            assert err[0] < 2.5 and err[1] < 5.0 and err[2] < 2.0, (name, i, p, pm)
            if abs(p[1]) > 5.0:
                assert np.sign(pm[1]) == -np.sign(p[1])
            if abs(p[2]) > 4.0:
                assert np.sign(pm[2]) == -np.sign(p[2])
