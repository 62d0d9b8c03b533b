"""Inception-v1 I3D as VideoGPT's FVD uses it (piergiaj/pytorch-i3d's `InceptionI3d(400)` in the copy of
common_metrics_on_video_quality's `fvd/videogpt/pytorch_i3d.py`), re-implemented under the same key names
(`Conv3d_1a_7x7.conv3d.weight`, `Mixed_3b.b1b.bn.running_mean`, ..., `logits.conv3d.{weight,bias}`).

Note [I3D SAME padding]: every convolution and max pool pads like TensorFlow's "SAME" at run time (the
`padding` arguments of upstream's constructors are ignored): total pad max(k - stride, 0) when the size divides
by the stride, else max(k - size % stride, 0), the smaller half in front, zeros also before max pools (their
inputs are post-ReLU, so a zero pad never beats a real value). BatchNorm eps is 1e-5 in VideoGPT's copy (piergiaj's original has 1e-3). The output is the
400 logits averaged over the remaining time steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Triple = tuple[int, int, int]


def _same_pad(x: torch.Tensor, kernel: Triple, stride: Triple) -> torch.Tensor:
    pads: list[int] = []
    for k, s, size in zip(kernel[::-1], stride[::-1], x.shape[:1:-1], strict=True):  # W, H, T (F.pad order)
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class Unit3D(nn.Module):
    """SAME-padded Conv3d, then BatchNorm and ReLU (the logits unit: bias, no BN, no ReLU)."""

    def __init__(
        self, cin: int, cout: int, kernel: Triple = (1, 1, 1), stride: Triple = (1, 1, 1), head: bool = False
    ):
        super().__init__()
        self.kernel, self.stride, self.head = kernel, stride, head
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, bias=head)
        if not head:
            self.bn = nn.BatchNorm3d(cout, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_same_pad(x, self.kernel, self.stride))
        return x if self.head else F.relu(self.bn(x))


class SamePool(nn.Module):
    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class Mixed(nn.Module):
    """Inception block: 1x1 | 1x1 -> 3x3x3 | 1x1 -> 3x3x3 | 3x3x3 max pool -> 1x1, concatenated."""

    def __init__(self, cin: int, c: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.b0 = Unit3D(cin, c[0])
        self.b1a = Unit3D(cin, c[1])
        self.b1b = Unit3D(c[1], c[2], (3, 3, 3))
        self.b2a = Unit3D(cin, c[3])
        self.b2b = Unit3D(c[3], c[4], (3, 3, 3))
        self.b3a = SamePool((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(cin, c[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


class InceptionI3d(nn.Module):
    """(B, 3, T, 224, 224) in [-1, 1] -> (B, 400) logits averaged over time (T >= 9: the final 2x7x7 average
    pool needs 2 time steps after the stride-8 reduction)."""

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = SamePool((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = SamePool((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = Mixed(192, (64, 96, 128, 16, 32, 32))
        self.Mixed_3c = Mixed(256, (128, 128, 192, 32, 96, 64))
        self.MaxPool3d_4a_3x3 = SamePool((3, 3, 3), (2, 2, 2))
        self.Mixed_4b = Mixed(480, (192, 96, 208, 16, 48, 64))
        self.Mixed_4c = Mixed(512, (160, 112, 224, 24, 64, 64))
        self.Mixed_4d = Mixed(512, (128, 128, 256, 24, 64, 64))
        self.Mixed_4e = Mixed(512, (112, 144, 288, 32, 64, 64))
        self.Mixed_4f = Mixed(528, (256, 160, 320, 32, 128, 128))
        self.MaxPool3d_5a_2x2 = SamePool((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = Mixed(832, (256, 160, 320, 32, 128, 128))
        self.Mixed_5c = Mixed(832, (384, 192, 384, 48, 128, 128))
        self.logits = Unit3D(1024, num_classes, head=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name, layer in self.named_children():
            if name != "logits":
                x = layer(x)
        x = self.logits(F.avg_pool3d(x, (2, 7, 7), stride=1))  # upstream's dropout is the identity in eval
        return x.squeeze(4).squeeze(3).mean(dim=2)
