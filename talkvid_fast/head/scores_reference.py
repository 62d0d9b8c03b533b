"""The six head scores of spec stage 3, written to read like the spec (the reference of the fast paths).

Let f1..fK be the sampled frames with exactly one face, W x H the frame size:
- movement: m_i = mean(|kps_i - kps_{i+1}|) / min(W, H) over the 10 coordinates;
  avg = 100 - 100 mean(m), min = 100 - 100 max(m)
- rotation: r_i = sqrt(dpitch^2 + dyaw^2 + droll^2); avg = 100 - mean(r), min = 100 - max(r);
  movement and rotation are 100 when K < 2
- orientation: o = sqrt(sum (|angle| / 180 * 100)^2); avg = 100 - mean(o), min = 100 - max(o)
- completeness: 0.3*100*(eyes inside)/2 + 0.4*100*(nose inside) + 0.3*100*(mouth corners inside)/2,
  inside = 0 <= x < W and 0 <= y < H; avg and min over faces
- resolution: 100 * box_area / frame_area (box not clipped); avg = 30 mean, min = 30 min
- face consistency: 100 - 20 * (sampled frames without exactly one face), floored at 0
- no single-face frame: the clip fails with `no_face`.
The `*_id` fields are the official code's indices of the worst pair or face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: column order of the score vector shared by the reference and the kernels
SCORE_NAMES = (
    "avg_movement",
    "min_movement",
    "min_movement_id",
    "avg_rotation",
    "min_rotation",
    "min_rotation_id",
    "avg_orientation",
    "min_orientation",
    "min_orientation_id",
    "avg_completeness",
    "min_completeness",
    "min_completeness_id",
    "avg_resolution",
    "min_resolution",
    "min_resolution_id",
    "face_consistency",
    "num_single_face",
)

#: gate name -> (score name, default threshold), in the order verdicts are checked
GATES = (
    ("movement_avg", "avg_movement", 80.0),
    ("movement_min", "min_movement", 60.0),
    ("rotation_avg", "avg_rotation", 70.0),
    ("rotation_min", "min_rotation", 60.0),
    ("orientation_avg", "avg_orientation", 70.0),
    ("orientation_min", "min_orientation", 30.0),
    ("completeness_avg", "avg_completeness", 100.0),
    ("completeness_min", "min_completeness", 100.0),
    ("resolution_avg", "avg_resolution", 50.0),
    ("resolution_min", "min_resolution", 40.0),
    ("face_consistency", "face_consistency", 80.0),
)


@dataclass
class ClipFaces:
    """What the face model saw in one clip's sampled frames."""

    width: int
    height: int
    face_counts: np.ndarray  #: int (S,) faces found in each sampled frame
    kps: np.ndarray  #: float (K, 5, 2) keypoints of the single-face frames, frame pixels
    pose: np.ndarray  #: float (K, 3) pitch, yaw, roll in degrees
    box: np.ndarray  #: float (K, 4) xmin, ymin, xmax, ymax in frame pixels
    extra: dict[str, Any] = field(default_factory=dict)


def head_scores(c: ClipFaces) -> np.ndarray:
    """(17,) float64 in SCORE_NAMES order; NaN for the face scores when K = 0."""
    W, H = float(c.width), float(c.height)
    K = len(c.kps)
    out = np.full(len(SCORE_NAMES), np.nan)
    bad = int(np.sum(np.asarray(c.face_counts) != 1))
    out[15] = max(0.0, 100.0 - 20.0 * bad)
    out[16] = K
    if K == 0:
        return out
    kps = np.asarray(c.kps, np.float64)
    pose = np.asarray(c.pose, np.float64)
    box = np.asarray(c.box, np.float64)

    if K >= 2:
        m = np.array([np.mean(np.abs(kps[i] - kps[i + 1])) / min(W, H) for i in range(K - 1)])
        r = np.array([np.sqrt(np.sum((pose[i] - pose[i + 1]) ** 2)) for i in range(K - 1)])
        out[0:3] = 100 - 100 * m.mean(), 100 - 100 * m.max(), np.argmax(m)
        out[3:6] = 100 - r.mean(), 100 - r.max(), np.argmax(r)
    else:
        out[0:6] = 100.0, 100.0, 0, 100.0, 100.0, 0

    o = np.array([np.sqrt(np.sum((np.abs(p) / 180 * 100) ** 2)) for p in pose])
    out[6:9] = 100 - o.mean(), 100 - o.max(), np.argmax(o)

    def inside(pt: np.ndarray) -> float:
        return float(0 <= pt[0] < W and 0 <= pt[1] < H)

    comp = np.array(
        [
            0.3 * 100 * (inside(k[0]) + inside(k[1])) / 2
            + 0.4 * 100 * inside(k[2])
            + 0.3 * 100 * (inside(k[3]) + inside(k[4])) / 2
            for k in kps
        ]
    )
    out[9:12] = comp.mean(), comp.min(), np.argmin(comp)

    res = np.array([100 * (b[2] - b[0]) * (b[3] - b[1]) / (W * H) for b in box])
    out[12:15] = 30 * res.mean(), 30 * res.min(), np.argmin(res)
    return out


def verdict(
    scores: np.ndarray, thresholds: dict[str, float] | None = None
) -> tuple[dict[str, bool], bool, str | None]:
    """Per-gate verdicts, passed, and the first failing gate (`no_face` when no single-face frame)."""
    thr = {g: t for g, _, t in GATES}
    if thresholds:
        unknown = set(thresholds) - set(thr)
        if unknown:
            raise ValueError(f"unknown head gates {sorted(unknown)}; allowed: {', '.join(thr)}")
        thr.update(thresholds)
    if scores[16] == 0:
        gates = {"face_consistency": bool(scores[15] >= thr["face_consistency"])}
        return gates, False, "no_face"
    idx = {n: i for i, n in enumerate(SCORE_NAMES)}
    gates = {g: bool(scores[idx[s]] >= thr[g]) for g, s, _ in GATES}
    failed = next((g for g, ok in gates.items() if not ok), None)
    return gates, failed is None, failed


def scores_dict(scores: np.ndarray) -> dict[str, float | int | None]:
    """JSON-friendly record: ids and counts as int, NaN as None."""
    out: dict[str, float | int | None] = {}
    for name, v in zip(SCORE_NAMES, scores, strict=True):
        if np.isnan(v):
            out[name] = None
        elif name.endswith("_id") or name in ("num_single_face",):
            out[name] = int(v)
        else:
            out[name] = float(v)
    return out
