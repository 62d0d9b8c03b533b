"""BlazeFace (MediaPipe face detection) as a PyTorch module, weights read from the `.tflite` file.

Note [Which detector]: the mediapipe wheel ships two BlazeFace models. The short-range one (128x128,
896 anchors at strides 8/16) is the selfie model: MediaPipe documents it for faces within ~2 m that fill
a good part of the frame. The full-range one (192x192, 2304 anchors at stride 4, sparse weights) is made
for faces up to ~5 m. TalkVid clips frame the upper body, often 16:9 letterboxed into the square
input, so the face covers only ~5-15 % of the detector input; the full-range model is the default
(`detector = "full_range"`), and on the test media it also finds the small faces the short-range
model misses (see docs/head.md). Both are available.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._tflite_graph import TFLiteNet
from ._tflite_reader import read_tflite
from .anchors import FULL_RANGE, SHORT_RANGE, DetectorConfig, decode_boxes, make_anchors

DETECTORS: dict[str, DetectorConfig] = {"full_range": FULL_RANGE, "short_range": SHORT_RANGE}


class BlazeFace(nn.Module):
    """Input (N, S, S, 3) float32 RGB in [-1, 1] (S = 192 full range, 128 short range).

    Output: detections (N, A, 16) float32 = box (xmin, ymin, xmax, ymax) + 6 keypoints (x, y),
    normalised to the input square, and scores (N, A) float32 in [0, 1].
    """

    anchors: torch.Tensor  # (A, 2) float32 buffer

    def __init__(self, net: TFLiteNet, cfg: DetectorConfig) -> None:
        super().__init__()
        self.net = net
        self.cfg = cfg
        self.register_buffer("anchors", torch.from_numpy(make_anchors(cfg)), persistent=False)

    def forward_raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # x: (N, S, S, 3)
        raw, logits = self.net(x)
        return raw, logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # x: (N, S, S, 3)
        raw, logits = self.net(x)
        return decode_boxes(raw, logits, self.anchors, self.cfg.input_size)


def load_blazeface(path: str | Path, kind: str = "full_range") -> BlazeFace:
    if kind not in DETECTORS:
        raise ValueError(f"detector {kind!r}; allowed: {', '.join(DETECTORS)}")
    cfg = DETECTORS[kind]
    net = TFLiteNet(read_tflite(path))
    return BlazeFace(net, cfg).eval()


def detections_to_frame(dets: np.ndarray, side: float, cx: float, cy: float) -> np.ndarray:
    """Maps (K, 16) detections normalised to the letterboxed square back to frame pixels."""
    out = dets.astype(np.float64).copy()
    out[:, 0::2] = cx + (out[:, 0::2] - 0.5) * side
    out[:, 1::2] = cy + (out[:, 1::2] - 0.5) * side
    return out
