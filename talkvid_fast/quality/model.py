"""The DOVER model (both branches and heads) and strict loading of DOVER.pth / DOVER_plus_plus.pth.

Note [DOVER outputs]: `DOVER.forward(tech_view, aes_view)` returns the per-clip pooled head outputs as a
tuple *(technical, aesthetic)*, named outputs "technical" and "aesthetic" in the ONNX export. Upstream's
`MinimumDOVER` ONNX returns [aesthetic, technical] and TalkVid's script reads index 0 as technical (the
"branch swap", models.md §1.7); here the branches are named, and scores.py applies the swap explicitly
where the `official` TalkVid score needs it. Each head runs on every (t, h, w) token, then the map is
averaged (averaging after the non-linear head, as upstream).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..weights._strict import load_state_strict
from ._convnext3d import ConvNeXt3D
from ._swin3d import SwinTransformer3D


class VQAHead(nn.Module):
    """Conv3d 1x1x1 (768 -> 64) -> GELU -> Conv3d 1x1x1 (64 -> 1) on every token (dropout: eval identity)."""

    def __init__(self, in_channels: int = 768, hidden: int = 64) -> None:
        super().__init__()
        self.fc_hid = nn.Conv3d(in_channels, hidden, (1, 1, 1))
        self.gelu = nn.GELU()
        self.fc_last = nn.Conv3d(hidden, 1, (1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float32 (B, C, T, H, W) -> (B, 1, T, H, W) score map."""
        return self.fc_last(self.gelu(self.fc_hid(x)))


@dataclass(frozen=True)
class DoverConfig:
    """Architecture sizes; `tiny()` is a shrunken copy with the same structure, for fast tests."""

    frames: int = 32
    size: int = 224
    swin_dim: int = 96
    swin_depths: tuple[int, ...] = (2, 2, 6, 2)
    swin_heads: tuple[int, ...] = (3, 6, 12, 24)
    conv_depths: tuple[int, ...] = (3, 3, 9, 3)
    conv_dims: tuple[int, ...] = (96, 192, 384, 768)
    head_hidden: int = 64

    @staticmethod
    def tiny() -> DoverConfig:
        return DoverConfig(
            swin_dim=16,
            swin_depths=(2, 2, 2, 2),
            swin_heads=(1, 2, 2, 4),
            conv_depths=(1, 1, 2, 1),
            conv_dims=(16, 32, 64, 128),
            head_hidden=8,
        )


class DOVER(nn.Module):
    """DOVER with divided heads; see Note [DOVER outputs]. Parameter names equal DOVER.pth's keys."""

    def __init__(self, config: DoverConfig | None = None) -> None:
        super().__init__()
        c = config or DoverConfig()
        self.config = c
        self.technical_backbone = SwinTransformer3D(c.frames, c.size, c.swin_dim, c.swin_depths, c.swin_heads)
        self.aesthetic_backbone = ConvNeXt3D(c.conv_depths, c.conv_dims)
        feat = c.swin_dim << (len(c.swin_depths) - 1)
        self.technical_head = VQAHead(feat, c.head_hidden)
        self.aesthetic_head = VQAHead(c.conv_dims[-1], c.head_hidden)

    def technical(self, tech_view: torch.Tensor) -> torch.Tensor:
        """tech_view: float32 (Bt, 3, 32, 224, 224) normalised fragment clips -> (Bt,) pooled raw scores."""
        return self.technical_head(self.technical_backbone(tech_view)).mean((1, 2, 3, 4))

    def aesthetic(self, aes_view: torch.Tensor) -> torch.Tensor:
        """aes_view: float32 (Ba, 3, 32, 224, 224) normalised resized clips -> (Ba,) pooled raw scores."""
        return self.aesthetic_head(self.aesthetic_backbone(aes_view)).mean((1, 2, 3, 4))

    def forward(self, tech_view: torch.Tensor, aes_view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.technical(tech_view), self.aesthetic(aes_view)


def build_dover(weights: str | Path | None, config: DoverConfig | None = None) -> DOVER:
    """DOVER in eval mode; `weights` is a DOVER.pth-style state dict file, or None for random weights.

    Loading is `torch.load(weights_only=True)` then a strict `load_state_dict` (every key, shape and
    dtype of reference/state_dicts/dover.txt, incl. the 12 int64 `relative_position_index` buffers)."""
    model = DOVER(config)
    if weights is not None:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        load_strict(model, state)
    return model.eval()


def load_strict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Strict load that also insists on equal dtypes (load_state_dict would cast silently)."""
    load_state_strict(model, state, "DOVER")
