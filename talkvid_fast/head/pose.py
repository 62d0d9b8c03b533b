"""Head pose (pitch, yaw, roll in degrees) by a rigid fit of the Face Mesh against a 3-D template.

Note [Head pose]: the 468 mesh landmarks (frame pixels x right, y down; z on the x scale, smaller =
nearer the camera) are put in InsightFace's pose frame `P = (x, y, -z)` (x right, y down, z towards the
camera: the frame of its `meanshape_68` and 1k3d68 output), MediaPipe's canonical face `T` (y up) likewise
(`T * (1, -1, 1)`, same vertex order), and the similarity transform `P ~ s R T + t` is found in closed
form (Umeyama 1991: SVD of the cross-covariance, reflection excluded). The angles are InsightFace's
`matrix2angle` of R (R = Rz(roll) Ry(yaw) Rx(pitch)): pitch = atan2(R21, R22),
yaw = atan2(-R20, sqrt(R00^2 + R10^2)), roll = atan2(R10, R00). Both backends therefore report angles in
the same convention (checked against insightface's own functions in tests/head/test_insightface_upstream.py):
frontal face = (0, 0, 0); yaw > 0 when the nose turns towards the image right; pitch > 0 when the nose
turns up in the image; roll > 0 when the face turns clockwise on screen. A horizontally mirrored frame
has the same pitch and negated yaw and roll.
"""

from __future__ import annotations

import numpy as np

from ._canonical_face import CANONICAL_FACE as _CANONICAL_Y_UP

#: MediaPipe's canonical face in InsightFace's pose frame (x right, y down, z towards the camera), (468, 3)
CANONICAL_FACE = _CANONICAL_Y_UP * np.array([1.0, -1.0, 1.0])


def euler_to_matrix(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """(3, 3) R = Rz(roll) @ Ry(yaw) @ Rx(pitch), angles in degrees (inverse of `matrix_to_euler`)."""
    p, y, r = np.deg2rad([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def matrix_to_euler(rot: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 3) pitch, yaw, roll in degrees (InsightFace's matrix2angle)."""
    sy = np.sqrt(rot[..., 0, 0] ** 2 + rot[..., 1, 0] ** 2)
    singular = sy < 1e-6
    pitch = np.where(
        singular, np.arctan2(-rot[..., 1, 2], rot[..., 1, 1]), np.arctan2(rot[..., 2, 1], rot[..., 2, 2])
    )
    yaw = np.arctan2(-rot[..., 2, 0], sy)
    roll = np.where(singular, 0.0, np.arctan2(rot[..., 1, 0], rot[..., 0, 0]))
    return np.degrees(np.stack([pitch, yaw, roll], axis=-1))


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Umeyama: dst ~ s R src + t. src (P, 3), dst (N, P, 3) -> s (N,), R (N, 3, 3), t (N, 3)."""
    mu_s = src.mean(0)
    mu_d = dst.mean(1, keepdims=True)
    xs = src - mu_s
    xd = dst - mu_d
    cov = np.einsum("npi,pj->nij", xd, xs) / src.shape[0]  # (N, 3, 3)
    u, sig, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((dst.shape[0], 3))
    fix[:, 2] = d
    rot = u @ (fix[:, :, None] * vt)
    var_s = (xs**2).sum(1).mean()
    scale = (sig * fix).sum(1) / var_s
    t = mu_d[:, 0] - scale[:, None] * np.einsum("nij,j->ni", rot, mu_s)
    return scale, rot, t


def head_pose(landmarks: np.ndarray, template: np.ndarray = CANONICAL_FACE) -> np.ndarray:
    """(N, 468, 3) mesh landmarks in frame pixels -> (N, 3) pitch, yaw, roll in degrees."""
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 3 or lm.shape[1:] != template.shape:
        raise ValueError(f"landmarks must be (N, {template.shape[0]}, 3), got {lm.shape}")
    if lm.shape[0] == 0:
        return np.zeros((0, 3))
    p = lm * np.array([1.0, 1.0, -1.0])  # MediaPipe z (smaller = nearer) -> z towards the camera
    _, rot, _ = fit_similarity(template, p)
    return matrix_to_euler(rot)


def template_to_image(
    rot: np.ndarray, scale: float, centre: tuple[float, float], template: np.ndarray = CANONICAL_FACE
) -> np.ndarray:
    """Synthetic mesh landmarks (P, 3) in MediaPipe's frame: the template rotated by `rot` (3, 3), scaled, at `centre`."""
    p = scale * template @ rot.T
    return np.stack([p[:, 0] + centre[0], p[:, 1] + centre[1], -p[:, 2]], axis=1)
