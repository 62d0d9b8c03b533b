"""DOVER's technical branch: Swin3D-T with the gated fragment position bias (models.md §1.3).

Note [Fragment position bias]: upstream (FAST-VQA / DOVER `swin_backbone.py`) builds per block a tensor
`gpi` of shape (nW, N, N, 3): the 1x7x7 fragment-id grid nearest-upsampled to the token grid, rolled by
-shift like the features, window-partitioned, pairwise differences. The gate is `g = |gpi|.sum(-1)`, an
integer that is NOT 0/1 (up to 12 in shifted blocks, where the roll wraps fragment 6 next to 0), and the
bias is `rpb * g + fpb * (1 - g)` (rpb/fpb gathered from the relative / fragment tables with the usual
relative index). The checkpoint was trained with that extrapolation, so it is reproduced as is.
Here each block keeps only per-window, per-token fragment ids `frag_h`, `frag_w` (nW, N) (the temporal
fragment id is always 0) and the shift-mask region ids `region` (nW, N) as small non-persistent buffers,
and forms g, the bias and the -100 shift mask by broadcasting in the graph (models.md §1.9: lifting the
full gpi tensors to constants makes a 1.6 GB ONNX file). The shift mask is added to the bias before the
attention logits: where the mask is 0 the sum is exact, where it is -100 the softmax weight is < 1e-43
either way.

The geometry (frames, height, width) is fixed at construction (32x224x224 for DOVER) so that every index
buffer is static; only the clip batch is dynamic. Inference only: dropout and drop-path are identities.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

WINDOW = (8, 7, 7)


def stage_window(size: tuple[int, int, int], window: tuple[int, int, int], shift: tuple[int, int, int]):
    """Upstream `get_window_size`: a window dim shrinks to the feature size when size <= window, and then
    its shift becomes 0."""
    win, sh = list(window), list(shift)
    for i in range(3):
        if size[i] <= window[i]:
            win[i] = size[i]
            sh[i] = 0
    return tuple(win), tuple(sh)


def window_partition_np(grid: np.ndarray, window: tuple[int, int, int]) -> np.ndarray:
    """grid (D, H, W) -> (nW, Wd*Wh*Ww), windows in (d, h, w) order, tokens in (d, h, w) order."""
    d, h, w = grid.shape
    wd, wh, ww = window
    g = grid.reshape(d // wd, wd, h // wh, wh, w // ww, ww).transpose(0, 2, 4, 1, 3, 5)
    return g.reshape(-1, wd * wh * ww)


def fragment_ids(size: tuple[int, int, int], window, shift) -> tuple[np.ndarray, np.ndarray]:
    """Per-window fragment row and column id of every token: two int64 (nW, N) arrays.

    Token (h, w) lies in fragment (floor(h * Fh / H), floor(w * Fw / W)) (nearest upsampling of the
    fragment grid); the grid is rolled by -shift before partitioning, like the features."""
    fragments = (1, window[1], window[2])  # upstream: `fragments=(1,) + window_size[1:]`
    _, h, w = size
    fh = (np.arange(h) * fragments[1]) // h
    fw = (np.arange(w) * fragments[2]) // w
    grid_h = np.broadcast_to(fh[None, :, None], size)
    grid_w = np.broadcast_to(fw[None, None, :], size)
    rolled = [np.roll(g, (-shift[0], -shift[1], -shift[2]), axis=(0, 1, 2)) for g in (grid_h, grid_w)]
    return window_partition_np(rolled[0], window), window_partition_np(rolled[1], window)


def shift_regions(size: tuple[int, int, int], window, shift) -> np.ndarray:
    """Upstream `compute_mask` region labels (27-region labelling), partitioned: int64 (nW, N)."""
    img = np.zeros(size, dtype=np.int64)
    cnt = 0
    for sd in (slice(-window[0]), slice(-window[0], -shift[0]), slice(-shift[0], None)):
        for sh in (slice(-window[1]), slice(-window[1], -shift[1]), slice(-shift[1], None)):
            for sw in (slice(-window[2]), slice(-window[2], -shift[2]), slice(-shift[2], None)):
                img[sd, sh, sw] = cnt
                cnt += 1
    return window_partition_np(img, window)


def relative_position_index(window: tuple[int, int, int]) -> torch.Tensor:
    """The usual Swin3D relative index: int64 (N, N) into a (2Wd-1)(2Wh-1)(2Ww-1)-row table."""
    coords = torch.stack(torch.meshgrid(*[torch.arange(s) for s in window], indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += window[0] - 1
    rel[:, :, 1] += window[1] - 1
    rel[:, :, 2] += window[2] - 1
    rel[:, :, 0] *= (2 * window[1] - 1) * (2 * window[2] - 1)
    rel[:, :, 1] *= 2 * window[2] - 1
    return rel.sum(-1)


def window_partition(x: torch.Tensor, window: tuple[int, ...]) -> torch.Tensor:
    """x (B, D, H, W, C) -> (B*nW, N, C)."""
    _, d, h, w, c = x.shape
    x = x.reshape(-1, d // window[0], window[0], h // window[1], window[1], w // window[2], window[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, window[0] * window[1] * window[2], c)


def window_reverse(
    windows: torch.Tensor, window: tuple[int, ...], size: tuple[int, int, int]
) -> torch.Tensor:
    """windows (B*nW, N, C) -> (B, D, H, W, C)."""
    d, h, w = size
    c = windows.shape[-1]
    x = windows.reshape(
        -1, d // window[0], h // window[1], w // window[2], window[0], window[1], window[2], c
    )
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(-1, d, h, w, c)


def gate(frag_h: torch.Tensor, frag_w: torch.Tensor) -> torch.Tensor:
    """g[w, i, j] = |h_j - h_i| + |w_j - w_i| from per-token fragment ids float32 (nW, N) -> float32 (nW, N, N)."""
    return (frag_h[:, None, :] - frag_h[:, :, None]).abs() + (frag_w[:, None, :] - frag_w[:, :, None]).abs()


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention3D(nn.Module):
    """Windowed MHSA with the relative and (optionally) fragment position biases, see Note [Fragment
    position bias]. Parameter and buffer names equal upstream's (strict loading of DOVER.pth)."""

    relative_position_index: torch.Tensor  #: int64 (N, N), persistent buffer (in DOVER.pth)

    def __init__(self, dim: int, window: tuple[int, int, int], num_heads: int, frag_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        rows = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        if frag_bias:
            self.fragment_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window))  # persistent
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        if frag_bias:
            nn.init.trunc_normal_(self.fragment_position_bias_table, std=0.02)

    def bias(self, frag_h: torch.Tensor, frag_w: torch.Tensor, region: torch.Tensor | None) -> torch.Tensor:
        """Position bias plus shift mask, formed in-graph: float32 (nW, nH, N, N).

        frag_h, frag_w: float32 (nW, N) fragment ids; region: float32 (nW, N) shift regions or None."""
        n = self.relative_position_index.shape[0]
        idx = self.relative_position_index.reshape(-1)
        rpb = self.relative_position_bias_table[idx].reshape(n, n, -1).permute(2, 0, 1)  # (nH, N, N)
        if hasattr(self, "fragment_position_bias_table"):
            fpb = self.fragment_position_bias_table[idx].reshape(n, n, -1).permute(2, 0, 1)
            g = gate(frag_h, frag_w).unsqueeze(1)  # (nW, 1, N, N): the non-binary gate
            bias = rpb.unsqueeze(0) * g + fpb * (1 - g)
        else:
            bias = rpb.unsqueeze(0)  # (1, nH, N, N)
        if region is not None:
            mask = torch.where(region[:, None, :] != region[:, :, None], -100.0, 0.0).to(bias.dtype)
            bias = bias + mask.unsqueeze(1)
        return bias

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x: float32 (B*nW, N, C); bias: float32 (nW or 1, nH, N, N) -> (B*nW, N, C)."""
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B*nW, nH, N, hd)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        nw = bias.shape[0]
        attn = (attn.reshape(-1, nw, self.num_heads, n, n) + bias.unsqueeze(0)).reshape(
            -1, self.num_heads, n, n
        )
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock3D(nn.Module):
    frag_h: torch.Tensor  #: float32 (nW, N) fragment row id per window token, non-persistent
    frag_w: torch.Tensor  #: float32 (nW, N) fragment column id
    region: torch.Tensor | None  #: float32 (nW, N) shift-mask region id (shifted blocks only)

    def __init__(
        self,
        dim: int,
        num_heads: int,
        size: tuple[int, int, int],
        shift: tuple[int, int, int],
        frag_bias: bool,
    ) -> None:
        super().__init__()
        self.size = size
        self.window, self.shift = stage_window(size, WINDOW, shift)
        self.norm1 = nn.LayerNorm(dim)
        # The parameter shapes follow the configured window (8, 7, 7), as upstream's do.
        self.attn = WindowAttention3D(dim, WINDOW, num_heads, frag_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        fh, fw = fragment_ids(size, self.window, self.shift)
        self.register_buffer("frag_h", torch.from_numpy(fh.astype(np.float32)), persistent=False)
        self.register_buffer("frag_w", torch.from_numpy(fw.astype(np.float32)), persistent=False)
        shifted = any(s > 0 for s in self.shift)
        region = shift_regions(size, self.window, self.shift).astype(np.float32) if shifted else None
        self.register_buffer("region", None if region is None else torch.from_numpy(region), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float32 (B, D, H, W, C) -> same shape."""
        shortcut = x
        x = self.norm1(x)
        shifted = any(s > 0 for s in self.shift)
        if shifted:
            x = torch.roll(x, shifts=(-self.shift[0], -self.shift[1], -self.shift[2]), dims=(1, 2, 3))
        bias = self.attn.bias(self.frag_h, self.frag_w, self.region)
        x = window_reverse(self.attn(window_partition(x, self.window), bias), self.window, self.size)
        if shifted:
            x = torch.roll(x, shifts=self.shift, dims=(1, 2, 3))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """Spatial 2x2 merge: concat order (0,0), (1,0), (0,1), (1,1), LayerNorm(4C), Linear(4C -> 2C)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float32 (B, D, H, W, C), H and W even -> (B, D, H/2, W/2, 2C)."""
        x0 = x[:, :, 0::2, 0::2]
        x1 = x[:, :, 1::2, 0::2]
        x2 = x[:, :, 0::2, 1::2]
        x3 = x[:, :, 1::2, 1::2]
        return self.reduction(self.norm(torch.cat([x0, x1, x2, x3], -1)))


class BasicLayer(nn.Module):
    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        size: tuple[int, int, int],
        frag_bias: bool,
        downsample: bool,
    ) -> None:
        super().__init__()
        half = tuple(s // 2 for s in WINDOW)
        self.blocks = nn.ModuleList(
            SwinBlock3D(dim, num_heads, size, (0, 0, 0) if i % 2 == 0 else half, frag_bias)  # type: ignore[arg-type]
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed3D(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, dim, kernel_size=(2, 4, 4), stride=(2, 4, 4))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float32 (B, 3, T, H, W) -> channels-last (B, T/2, H/4, W/4, C)."""
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1))


class SwinTransformer3D(nn.Module):
    """Swin3D-T ("swin_tiny_grpb"): input float32 (B, 3, T, H, W) normalised clips -> (B, 768, T/2, H/32, W/32)."""

    def __init__(
        self,
        frames: int = 32,
        size: int = 224,
        embed_dim: int = 96,
        depths: tuple[int, ...] = (2, 2, 6, 2),
        num_heads: tuple[int, ...] = (3, 6, 12, 24),
        frag_biases: tuple[bool, ...] = (True, True, True, False),
    ) -> None:
        super().__init__()
        if frames % 2 or size % 32:
            raise ValueError(
                f"frames must be even and size a multiple of 32; got frames={frames}, size={size}"
            )
        self.input_shape = (3, frames, size, size)
        self.patch_embed = PatchEmbed3D(embed_dim)
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(depths, num_heads, strict=True)):
            grid = (frames // 2, size // 4 >> i, size // 4 >> i)
            self.layers.append(
                BasicLayer(embed_dim << i, depth, heads, grid, frag_biases[i], i < len(depths) - 1)
            )
        self.norm = nn.LayerNorm(embed_dim << (len(depths) - 1))
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"technical clips must be (B, {', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}"
            )
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).permute(0, 4, 1, 2, 3)


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


__all__ = ["SwinTransformer3D", "fragment_ids", "gate", "relative_position_index", "shift_regions"]
