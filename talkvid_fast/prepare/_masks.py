"""Hallo's face and lip masks, from the Face Mesh landmarks of a prepared clip.

Note [Hallo masks]: Hallo's step 1 (`scripts/data_preprocess.py`) runs MediaPipe's face landmarker on every
frame (the first 468 points are Face Mesh v1's, the same topology as ours) and writes, per video: the union
over frames of the face-oval boxes (`face_mask/`, full size, 255 inside), the union lip box likewise, and
64x64 masks blurred with a Gaussian (51 px for the face, 31 px for the lips) and stretched to 0..255:
`sep_lip_mask` = blurred lips, `sep_face_mask` = blurred face - blurred lips, `sep_pose_mask` = 255 -
blurred face. Point lists: MediaPipe's face oval and lip contours, as Hallo's `silhouette_ids` and `lip_ids`.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375)


def union_box_mask(landmarks: np.ndarray, ids: tuple[int, ...], size: int) -> np.ndarray:
    """(size, size) uint8: 255 inside the union over frames of the rounded boxes of `ids`, clipped."""
    pts = landmarks[:, list(ids), :2]
    pts = pts[~np.isnan(pts).any((1, 2))]
    mask = np.zeros((size, size), np.uint8)
    if len(pts) == 0:
        return mask
    lo = np.clip(np.round(pts.min(1)).min(0), 0, size).astype(int)
    hi = np.clip(np.round(pts.max(1)).max(0), 0, size).astype(int)
    mask[lo[1] : hi[1], lo[0] : hi[0]] = 255
    return mask


def _blur(mask: np.ndarray, kernel: int) -> np.ndarray:
    small = cv2.GaussianBlur(cv2.resize(mask, (64, 64)), (kernel, kernel), 0)
    lo, hi = float(small.min()), float(small.max())  # cv2.NORM_MINMAX to 0..255
    return np.round((small - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)


def hallo_masks(landmarks: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Hallo's four mask images (Note [Hallo masks]) from (K, 468, 3) crop-pixel landmarks."""
    face = union_box_mask(landmarks, FACE_OVAL, size)
    face_blur = _blur(face, 51)
    lip_blur = _blur(union_box_mask(landmarks, LIPS, size), 31)
    return {
        "face_mask": face,
        "sep_face_mask": cv2.subtract(face_blur, lip_blur),
        "sep_pose_mask": (255 - face_blur).astype(np.uint8),
        "sep_lip_mask": lip_blur,
    }
