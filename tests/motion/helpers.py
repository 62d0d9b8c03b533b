"""Building clips by hand and delivering the frames a stage requests, as the pipeline would."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from talkvid_fast.clips import Clip
from talkvid_fast.stages import FrameRequest
from tests import media


def make_clip(frames: np.ndarray, fps: float, clip_id: str = "synthetic-scene1", path: str = "") -> Clip:
    """A clip covering all of `frames` (uint8 (N, H, W, 3)), constant frame rate."""
    n, h, w = frames.shape[:3]
    clip: Clip = media.make_clip(clip_id, w, h, fps, np.arange(n, dtype=np.float64) / fps, path)
    return clip


def deliver(frames: np.ndarray, request: FrameRequest) -> torch.Tensor:
    """uint8 (len(indices), H, W, 3): the requested frames, resized bilinear (half-pixel centres)."""
    x = torch.from_numpy(frames[request.indices]).permute(0, 3, 1, 2).float()
    if request.size is not None and tuple(request.size) != tuple(x.shape[-2:]):
        x = F.interpolate(x, request.size, mode="bilinear", align_corners=False, antialias=request.antialias)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
