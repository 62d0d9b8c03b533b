"""DOVER's aesthetic branch: ConvNeXt3D-T inflated with strategy '131' (models.md §1.4).

Names equal upstream's `conv_backbone.ConvNeXt3D` so DOVER.pth loads strictly; the output is the
`return_spatial=True` path: final LayerNorm on the (B, 768, T/2, H/32, W/32) map, no pooling.
"""

from __future__ import annotations

import torch
from torch import nn


class ChannelsFirstLayerNorm(nn.Module):
    """Upstream's channels_first LayerNorm (eps 1e-6), written out the same way: mean, biased variance,
    divide by sqrt(var + eps), then the affine."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float32 (B, C, T, H, W) -> same shape."""
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None, None] * x + self.bias[:, None, None, None]


class Block3D(nn.Module):
    """Depthwise Conv3d (t, 7, 7) -> LN -> Linear(C, 4C) -> GELU -> Linear(4C, C) -> gamma, residual."""

    def __init__(self, dim: int, t: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv3d(dim, dim, kernel_size=(t, 7, 7), padding=(t // 2, 3, 3), groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float32 (B, C, T, H, W) -> same shape."""
        y = self.dwconv(x).permute(0, 2, 3, 4, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 4, 1, 2, 3)


class ConvNeXt3D(nn.Module):
    """ConvNeXt3D-T: input float32 (B, 3, T, H, W) normalised clips -> (B, 768, T/2, H/32, W/32)."""

    def __init__(
        self,
        depths: tuple[int, ...] = (3, 3, 9, 3),
        dims: tuple[int, ...] = (96, 192, 384, 768),
        inflate: str = "131",
    ) -> None:
        super().__init__()
        self.downsample_layers = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv3d(3, dims[0], kernel_size=(2, 4, 4), stride=(2, 4, 4)),
                    ChannelsFirstLayerNorm(dims[0]),
                )
            ]
        )
        for i in range(3):
            self.downsample_layers.append(
                nn.Sequential(
                    ChannelsFirstLayerNorm(dims[i]), nn.Conv3d(dims[i], dims[i + 1], (1, 2, 2), (1, 2, 2))
                )
            )
        self.stages = nn.ModuleList(
            nn.Sequential(*[Block3D(dims[i], int(inflate[j % len(inflate)])) for j in range(depths[i])])
            for i in range(4)
        )
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for down, stage in zip(self.downsample_layers, self.stages, strict=True):
            x = stage(down(x))
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
