"""CoTracker3 building blocks: the feature encoder and the update transformer (reference/models.md §2.2).

Module and parameter names follow the official checkpoints exactly (including `virual_tracks`), so
`load_state_dict(strict=True)` of `scaled_offline.pth` / `scaled_online.pth` works unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Mlp(nn.Module):
    """Linear -> GELU (exact or tanh) -> Linear."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int, tanh_gelu: bool) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh" if tanh_gelu else "none")
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x: Tensor) -> Tensor:  # (..., in) -> (..., out)
        return self.fc2(self.act(self.fc1(x)))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with instance norm and ReLU; 1x1 strided projection when downsampling."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1)
        self.norm1 = nn.InstanceNorm2d(planes)
        self.norm2 = nn.InstanceNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride), nn.InstanceNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:  # float32 (B, C, H, W)
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return F.relu(x + y)


class BasicEncoder(nn.Module):
    """RAFT-style encoder: (B, 3, H, W) in [-1, 1] -> (B, 128, H/4, W/4) features (not yet L2-normalised)."""

    def __init__(self, input_dim: int = 3, output_dim: int = 128, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride
        self.in_planes = output_dim // 2
        self.conv1 = nn.Conv2d(input_dim, self.in_planes, kernel_size=7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(self.in_planes)
        self.layer1 = self._make_layer(output_dim // 2, stride=1)
        self.layer2 = self._make_layer(output_dim // 4 * 3, stride=2)
        self.layer3 = self._make_layer(output_dim, stride=2)
        self.layer4 = self._make_layer(output_dim, stride=2)
        self.conv2 = nn.Conv2d(output_dim * 3 + output_dim // 4, output_dim * 2, kernel_size=3, padding=1)
        self.norm2 = nn.InstanceNorm2d(output_dim * 2)
        self.conv3 = nn.Conv2d(output_dim * 2, output_dim, kernel_size=1)

    def _make_layer(self, dim: int, stride: int) -> nn.Sequential:
        layers = nn.Sequential(ResidualBlock(self.in_planes, dim, stride), ResidualBlock(dim, dim, 1))
        self.in_planes = dim
        return layers

    def forward(self, x: Tensor) -> Tensor:  # float32 (B, 3, H, W) -> (B, 128, H/4, W/4)
        h, w = x.shape[-2] // self.stride, x.shape[-1] // self.stride
        x = F.relu(self.norm1(self.conv1(x)))
        a = self.layer1(x)
        b = self.layer2(a)
        c = self.layer3(b)
        d = self.layer4(c)
        feats = [F.interpolate(t, (h, w), mode="bilinear", align_corners=True) for t in (a, b, c, d)]
        x = F.relu(self.norm2(self.conv2(torch.cat(feats, dim=1))))
        return self.conv3(x)


class Attention(nn.Module):
    """Multi-head attention with biased q / kv / out projections (8 heads x 48)."""

    def __init__(
        self, query_dim: int, context_dim: int | None = None, num_heads: int = 8, dim_head: int = 48
    ) -> None:
        super().__init__()
        inner = dim_head * num_heads
        self.scale = dim_head**-0.5
        self.heads = num_heads
        self.to_q = nn.Linear(query_dim, inner)
        self.to_kv = nn.Linear(context_dim or query_dim, inner * 2)
        self.to_out = nn.Linear(inner, query_dim)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:  # (B, N1, C), (B, N2, C)
        b, n1, c = x.shape
        h = self.heads
        q = self.to_q(x).reshape(b, n1, h, c // h).permute(0, 2, 1, 3)
        context = x if context is None else context
        k, v = self.to_kv(context).chunk(2, dim=-1)
        n2 = context.shape[1]
        k = k.reshape(b, n2, h, c // h).permute(0, 2, 1, 3)
        v = v.reshape(b, n2, h, c // h).permute(0, 2, 1, 3)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.to_out((attn @ v).transpose(1, 2).reshape(b, n1, c))


class AttnBlock(nn.Module):
    """Pre-norm self-attention block (LayerNorm without affine, eps 1e-6; tanh-GELU MLP)."""

    def __init__(self, hidden: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, num_heads=num_heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, int(hidden * mlp_ratio), hidden, tanh_gelu=True)

    def forward(self, x: Tensor) -> Tensor:  # (B, N, C)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossAttnBlock(nn.Module):
    """Pre-norm cross-attention block; the context has an affine LayerNorm (eps 1e-5)."""

    def __init__(self, hidden: int, context_dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.norm_context = nn.LayerNorm(hidden)
        self.cross_attn = Attention(hidden, context_dim=context_dim, num_heads=num_heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, int(hidden * mlp_ratio), hidden, tanh_gelu=True)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:  # (B, N1, C), (B, N2, C)
        x = x + self.cross_attn(self.norm1(x), context=self.norm_context(context))
        return x + self.mlp(self.norm2(x))


class EfficientUpdateFormer(nn.Module):
    """Time attention per track, then space attention through 64 learned virtual tracks (3 + 3 blocks)."""

    def __init__(
        self,
        depth: int = 3,
        input_dim: int = 1110,
        hidden: int = 384,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        num_virtual_tracks: int = 64,
    ) -> None:
        super().__init__()
        self.num_virtual_tracks = num_virtual_tracks
        self.input_transform = nn.Linear(input_dim, hidden)
        self.flow_head = nn.Linear(hidden, 2)
        self.vis_conf_head = nn.Linear(hidden, 2)
        self.virual_tracks = nn.Parameter(
            torch.randn(1, num_virtual_tracks, 1, hidden)
        )  # (sic) checkpoint name
        self.time_blocks = nn.ModuleList([AttnBlock(hidden, num_heads, mlp_ratio) for _ in range(depth)])
        self.space_virtual_blocks = nn.ModuleList(
            [AttnBlock(hidden, num_heads, mlp_ratio) for _ in range(depth)]
        )
        self.space_point2virtual_blocks = nn.ModuleList(
            [CrossAttnBlock(hidden, hidden, num_heads, mlp_ratio) for _ in range(depth)]
        )
        self.space_virtual2point_blocks = nn.ModuleList(
            [CrossAttnBlock(hidden, hidden, num_heads, mlp_ratio) for _ in range(depth)]
        )

    def forward(self, x: Tensor) -> Tensor:  # float32 (B, N, T, 1110) -> (B, N, T, 4): dx, dy, dvis, dconf
        tokens = self.input_transform(x)
        b, _, t, c = tokens.shape
        tokens = torch.cat([tokens, self.virual_tracks.expand(b, -1, t, -1)], dim=1)
        n = tokens.shape[1]
        n_pts = n - self.num_virtual_tracks
        for i, time_block in enumerate(self.time_blocks):
            tokens = time_block(tokens.reshape(b * n, t, c)).reshape(b, n, t, c)
            space = tokens.permute(0, 2, 1, 3).reshape(b * t, n, c)
            points, virtual = space[:, :n_pts], space[:, n_pts:]
            virtual = self.space_virtual2point_blocks[i](virtual, points)
            virtual = self.space_virtual_blocks[i](virtual)
            points = self.space_point2virtual_blocks[i](points, virtual)
            tokens = torch.cat([points, virtual], dim=1).reshape(b, t, n, c).permute(0, 2, 1, 3)
        tokens = tokens[:, :n_pts]
        return torch.cat([self.flow_head(tokens), self.vis_conf_head(tokens)], dim=-1)
