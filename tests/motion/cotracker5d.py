"""The straightforward 5-D formulation of CoTracker3's sampling (as upstream writes it), for equivalence tests.

`bilinear_sampler` and `get_support_points` follow facebookresearch/co-tracker (model_utils.py,
cotracker3_online.py); `Reference5D` swaps them into our module, keeping every weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from talkvid_fast.motion.cotracker import CoTrackerThreeBase


def bilinear_sampler(inp: Tensor, coords: Tensor) -> Tensor:
    """Upstream: (B, C, [T,] H, W) sampled at (B, ..., 2 or 3) coords, align_corners=True, border padding."""
    sizes = inp.shape[2:]
    if len(sizes) == 3:
        coords = coords[..., [1, 2, 0]]  # t x y -> x y t
    coords = coords * torch.tensor([2 / max(size - 1, 1) for size in reversed(sizes)])
    coords = coords - 1
    return F.grid_sample(inp, coords, align_corners=True, padding_mode="border")


def support_points(coords: Tensor, r: int, reshape_back: bool = True) -> Tensor:
    b, _, n, _ = coords.shape
    centroid = coords.reshape(b, n, 1, 1, 3)
    dx = torch.linspace(-r, r, 2 * r + 1)
    dy = torch.linspace(-r, r, 2 * r + 1)
    xgrid, ygrid = torch.meshgrid(dy, dx, indexing="ij")
    delta = torch.stack([torch.zeros_like(xgrid), xgrid, ygrid], dim=-1).view(1, 1, 2 * r + 1, 2 * r + 1, 3)
    pts = centroid + delta
    if reshape_back:
        return pts.reshape(b, n, (2 * r + 1) ** 2, 3).permute(0, 2, 1, 3)
    return pts


def install_5d(model: CoTrackerThreeBase) -> CoTrackerThreeBase:
    """Replaces the model's sampling and correlation with the 5-D + einsum formulation (in place)."""

    def track_support(fmap: Tensor, frames: Tensor, xy: Tensor, t: int) -> Tensor:
        _bt, c, h, w = fmap.shape
        b, n = frames.shape
        fmaps = fmap.reshape(b, t, c, h, w)
        sample_coords = torch.cat([frames[:, None, :, None].float(), xy[:, None]], dim=-1)  # B 1 N 3
        pts = support_points(sample_coords, 3)  # B 49 N 3
        feats = bilinear_sampler(fmaps.permute(0, 2, 1, 3, 4), pts.unsqueeze(3))  # B C 49 N 1
        feats = feats.permute(0, 2, 3, 1, 4).reshape(b, 49, n, c)
        return feats.permute(0, 2, 1, 3)  # B N 49 C

    def correlation(fmap: Tensor, coords: Tensor, support: Tensor) -> Tensor:
        bt, c, h, w = fmap.shape
        b, t, n, _ = coords.shape
        sample_coords = torch.cat([torch.zeros_like(coords[..., :1]), coords], dim=-1).reshape(bt, n, 3)[
            :, None
        ]
        pts = support_points(sample_coords, 3, reshape_back=False)  # BT N 7 7 3
        corr_feat = bilinear_sampler(fmap.reshape(bt, c, 1, h, w), pts)  # BT C N 7 7
        corr_feat = corr_feat.view(b, t, c, n, 7, 7).permute(0, 1, 3, 4, 5, 2)
        sup = support.reshape(b, n, 7, 7, c)
        vol = torch.einsum("btnhwc,bnijc->btnhwij", corr_feat, sup)
        return vol.reshape(b, t, n, 7 * 7 * 7 * 7)

    model.track_support = track_support  # type: ignore[method-assign]
    model.correlation = correlation  # type: ignore[method-assign]
    return model
