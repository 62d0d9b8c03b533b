"""Face Mesh v1 (MediaPipe `face_landmark.tflite`) as a PyTorch module.

Input: the 192x192 RGB crop of Note [Face warp], values in [0, 1]. Output: 468 landmarks (x, y, z) in
crop pixels (z on the x scale, smaller = nearer the camera) and the face-presence score (sigmoid of the
model's logit; MediaPipe drops a face below 0.5).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ._tflite_graph import TFLiteNet
from ._tflite_reader import read_tflite

MESH_INPUT = 192
NUM_LANDMARKS = 468

# Keypoints in the order of SCRFD's five (image-left eye first, as InsightFace's `kps`):
# eye = midpoint of its two corners (subject's right eye: 33/133; left eye: 362/263), nose tip 1,
# mouth corners 61 (image left) and 291.
EYE_RIGHT_CORNERS = (33, 133)
EYE_LEFT_CORNERS = (362, 263)
NOSE_TIP = 1
MOUTH_CORNERS = (61, 291)


class FaceMesh(nn.Module):
    """x: (N, 192, 192, 3) float32 in [0, 1] -> landmarks (N, 468, 3), presence (N,) float32."""

    def __init__(self, net: TFLiteNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lm, presence = self.net(x)
        return lm.reshape(x.shape[0], NUM_LANDMARKS, 3), torch.sigmoid(presence.reshape(x.shape[0]))


def load_facemesh(path: str | Path) -> FaceMesh:
    return FaceMesh(TFLiteNet(read_tflite(path))).eval()


def five_keypoints(landmarks: torch.Tensor) -> torch.Tensor:
    """(..., 468, >=2) -> (..., 5, 2): left eye, right eye (image order), nose tip, mouth left, mouth right."""
    lm = landmarks[..., :2]
    eye_r = (lm[..., EYE_RIGHT_CORNERS[0], :] + lm[..., EYE_RIGHT_CORNERS[1], :]) / 2
    eye_l = (lm[..., EYE_LEFT_CORNERS[0], :] + lm[..., EYE_LEFT_CORNERS[1], :]) / 2
    return torch.stack(
        [eye_r, eye_l, lm[..., NOSE_TIP, :], lm[..., MOUTH_CORNERS[0], :], lm[..., MOUTH_CORNERS[1], :]],
        dim=-2,
    )
