"""BlazeFace anchors, box decoding and MediaPipe's weighted non-maximum suppression.

Note [BlazeFace decoding]: this follows MediaPipe's `SsdAnchorsCalculator` (fixed-size anchors, centres
at `(x + 0.5) / feature_map_w`), `TensorsToDetectionsCalculator` (`reverse_output_order`: raw box is
x, y, w, h; coordinates divided by the input size and offset by the anchor centre; six keypoints;
score = sigmoid(clip(raw, -100, 100))) and `NonMaxSuppressionCalculator` with `WEIGHTED` IoU
suppression at 0.3: the best box absorbs every box overlapping it by more than 0.3 and becomes their
score-weighted average. Coordinates are normalised to the detector's (letterboxed) input square.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class DetectorConfig:
    """Options of one BlazeFace model (MediaPipe's face_detection_*.pbtxt)."""

    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float
    num_boxes: int
    min_score: float
    nms_iou: float = 0.3


SHORT_RANGE = DetectorConfig(128, (8, 16, 16, 16), 1.0, 896, 0.5)
FULL_RANGE = DetectorConfig(192, (4,), 0.0, 2304, 0.6)


def make_anchors(cfg: DetectorConfig) -> np.ndarray:
    """(num_boxes, 2) float32 anchor centres (x, y), normalised, in MediaPipe's order."""
    out: list[tuple[float, float]] = []
    layer = 0
    n = len(cfg.strides)
    while layer < n:
        per_cell = 0
        last = layer
        while last < n and cfg.strides[last] == cfg.strides[layer]:
            per_cell += 1 + (1 if cfg.interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        fm = -(-cfg.input_size // cfg.strides[layer])
        for y in range(fm):
            for x in range(fm):
                out.extend([((x + 0.5) / fm, (y + 0.5) / fm)] * per_cell)
        layer = last
    anchors = np.asarray(out, np.float32)
    if len(anchors) != cfg.num_boxes:
        raise AssertionError(f"{len(anchors)} anchors, expected {cfg.num_boxes}")
    return anchors


def decode_boxes(
    raw: torch.Tensor,  # (N, A, 16) float32: x, y, w, h, then 6 keypoints (x, y), in input pixels
    logits: torch.Tensor,  # (N, A, 1) float32
    anchors: torch.Tensor,  # (A, 2) float32 normalised centres
    input_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (boxes (N, A, 4) xmin, ymin, xmax, ymax normalised; keypoints (N, A, 6, 2)) and scores (N, A)."""
    s = float(input_size)
    cx = raw[..., 0] / s + anchors[:, 0]
    cy = raw[..., 1] / s + anchors[:, 1]
    w = raw[..., 2] / s
    h = raw[..., 3] / s
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
    kps = raw[..., 4:16].reshape(*raw.shape[:-1], 6, 2) / s + anchors[:, None, :]
    scores = torch.sigmoid(logits[..., 0].clamp(-100.0, 100.0))
    dets = torch.cat([boxes, kps.reshape(*raw.shape[:-1], 12)], dim=-1)
    return dets, scores


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(dets: np.ndarray, scores: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED NMS. dets: (M, 16) boxes + keypoints; scores: (M,). Returns kept (K, 16), (K,)."""
    order = np.argsort(-scores, kind="stable")
    kept, kept_scores = [], []
    while order.size:
        top = order[0]
        sim = _iou(dets[top, :4], dets[order, :4])
        cand = order[sim > iou]
        if cand.size == 0:  # a degenerate top box (zero area): keep it alone
            cand = order[:1]
        w = scores[cand]
        kept.append((dets[cand] * w[:, None]).sum(0) / w.sum())
        kept_scores.append(scores[top])
        order = order[sim <= iou]
        order = order[order != top]
    if not kept:
        return np.zeros((0, dets.shape[1]), np.float32), np.zeros(0, np.float32)
    return np.asarray(kept, np.float32), np.asarray(kept_scores, np.float32)
