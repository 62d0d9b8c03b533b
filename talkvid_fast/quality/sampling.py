"""DOVER input sampling (spec stage 2a, models.md §1.6): which frames, which patches, and the model tensors.

Note [Seeded sampling]: upstream draws its offsets unseeded (np.random / torch.randint), so its scores
change run to run. Here every offset of a clip comes from `numpy.random.default_rng(seed)` with
`seed = clip_seed(clip_id)` (first 8 bytes of sha256(clip_id), little endian), drawn in this order:
technical temporal offsets (3), aesthetic temporal offsets (32), fragment row offsets (7, 7, 3), fragment
column offsets (7, 7, 3) (upstream's (cell row, cell column, clip) order). Ranges are upstream's:
randint(0, high) exclusive, 0 when the span is too short. A rerun gives the same indices and patches.

Note [Small frames]: when min(H, W) < 224 upstream upscales the frames by 1/ratio (bilinear on /255
floats, truncated back to uint8) but computes the fragment grid (cell origins, offset ranges) from the
size *before* upscaling, so only the top-left part of the upscaled frame is sampled. Both profiles
reproduce this (it is the numeric definition of the score); frames below 32 px are an error.

Note [Fragment mosaics]: the technical branch sees only 49 patches of 32 x 32 px of each of its 96 frames.
The stage asks for them as a view made per frame (`FragmentMosaics`, a `FrameRequest.transform`): when the
frame is converted, its patches are gathered into a 224 x 224 mosaic at once, so a clip's technical view
is 14 MB instead of 96 whole frames (600 MB at 1080p, 2.4 GB at 2160p) and no whole frame is copied.
`mosaic_view` then normalises the mosaics with the same gather over their regular grid: the tensor is
exactly `technical_view` of the whole frames.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MEAN = (123.675, 116.28, 103.53)  #: RGB, 0-255 scale
STD = (58.395, 57.12, 57.375)
GRID = 7  #: fragments per side
PATCH = 32  #: fragment size in pixels
SIZE = GRID * PATCH  #: 224
CLIP_LEN = 32  #: frames per clip (both views)
TECH_CLIPS = 3  #: technical clips per video
INTERVAL = 2  #: technical frame stride
AES_SEGMENTS = 32  #: aesthetic segments (one frame each)


def clip_seed(clip_id: str) -> int:
    """Seed of a clip's sampling generator; see Note [Seeded sampling]."""
    return int.from_bytes(hashlib.sha256(clip_id.encode("utf-8")).digest()[:8], "little")


def temporal_indices(
    num_frames: int, segments: int, clip_len: int, interval: int, rng: np.random.Generator
) -> np.ndarray:
    """Upstream `UnifiedFrameSampler`: int64 (segments * clip_len,) frame indices, modulo num_frames.

    Segment i starts at (T // segments) * i plus an offset in [0, T // segments - clip_len * interval)
    (0 when the segment is not longer than clip_len * interval); frames at stride `interval` from there."""
    if num_frames <= 0:
        raise ValueError(f"a clip needs at least one frame, got num_frames={num_frames}")
    tlength = num_frames // segments
    grids = tlength * np.arange(segments, dtype=np.int64)
    span = clip_len * interval
    rnd = (
        rng.integers(0, tlength - span, size=segments)
        if tlength > span
        else np.zeros(segments, dtype=np.int64)
    )
    ranges = np.arange(clip_len, dtype=np.int64)[None, :] * interval + rnd[:, None] + grids[:, None]
    return np.mod(ranges.reshape(-1), num_frames).astype(np.int64)


@dataclass(frozen=True)
class SamplingPlan:
    """Everything random about one clip's DOVER views, fixed by its id (Note [Seeded sampling])."""

    tech_indices: np.ndarray  #: int64 (96,): 3 technical clips x 32 frames, relative to the clip start
    aes_indices: np.ndarray  #: int64 (32,): aesthetic frames
    top: np.ndarray  #: int32 (3, 7, 7): fragment row origins in the (possibly upscaled) frame
    left: np.ndarray  #: int32 (3, 7, 7): fragment column origins
    height: int  #: source frame height the plan was made for
    width: int
    upscale: float | None  #: scale factor applied before gathering (Note [Small frames]), None if none


def make_plan(clip_id: str, num_frames: int, height: int, width: int) -> SamplingPlan:
    """The sampling plan of a clip of `num_frames` frames of size height x width."""
    if min(height, width) < PATCH:
        raise ValueError(f"frames of {height}x{width} are too small for {PATCH}x{PATCH} DOVER fragments")
    rng = np.random.default_rng(clip_seed(clip_id))
    tech = temporal_indices(num_frames, TECH_CLIPS, CLIP_LEN, INTERVAL, rng)
    aes = temporal_indices(num_frames, AES_SEGMENTS, 1, INTERVAL, rng)
    top, left = fragment_origins(height, width, rng)
    ratio = min(height / SIZE, width / SIZE)
    return SamplingPlan(tech, aes, top, left, height, width, 1 / ratio if ratio < 1 else None)


def fragment_origins(height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Upstream `get_spatial_fragments` origins: cell origin min((H // 7) * i, H - 32) plus an offset in
    [0, H // 7 - 32) (0 when H // 7 <= 32), one per (cell, clip); same for W. int32 (3, 7, 7) each."""
    hgrid = np.minimum(height // GRID * np.arange(GRID), height - PATCH)
    wgrid = np.minimum(width // GRID * np.arange(GRID), width - PATCH)
    shape = (GRID, GRID, TECH_CLIPS)
    hl, wl = height // GRID, width // GRID
    rnd_h = rng.integers(0, hl - PATCH, size=shape) if hl > PATCH else np.zeros(shape, dtype=np.int64)
    rnd_w = rng.integers(0, wl - PATCH, size=shape) if wl > PATCH else np.zeros(shape, dtype=np.int64)
    top = hgrid[:, None, None] + rnd_h  # (i, j, clip)
    left = wgrid[None, :, None] + rnd_w
    return (
        np.ascontiguousarray(top.transpose(2, 0, 1), dtype=np.int32),
        np.ascontiguousarray(left.transpose(2, 0, 1), dtype=np.int32),
    )


def upscale_frames(frames: torch.Tensor, scale: float) -> torch.Tensor:
    """Upstream's small-frame upscale: uint8 (N, H, W, 3) -> uint8 (N, floor(H*s), floor(W*s), 3), bilinear
    (align_corners=False, scale_factor as given) on v / 255, times 255, truncated (Note [Small frames])."""
    x = frames.permute(0, 3, 1, 2) / 255.0
    x = F.interpolate(x, scale_factor=scale, mode="bilinear")
    return (x * 255.0).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def technical_view(frames: torch.Tensor, plan: SamplingPlan) -> torch.Tensor:
    """frames: uint8 (96, H, W, 3) at plan.tech_indices, native size -> float32 (3, 3, 32, 224, 224)
    normalised fragment clips, gathered by the native op (C++ on CPU, CUDA kernel on GPU)."""
    from ..native import native

    if frames.shape[0] != TECH_CLIPS * CLIP_LEN or tuple(frames.shape[1:]) != (plan.height, plan.width, 3):
        raise ValueError(
            f"technical frames must be ({TECH_CLIPS * CLIP_LEN}, {plan.height}, {plan.width}, 3), "
            f"got {tuple(frames.shape)}"
        )
    if plan.upscale is not None:
        frames = upscale_frames(frames, plan.upscale)
    h, w = frames.shape[1], frames.shape[2]
    if plan.top.min() < 0 or plan.left.min() < 0 or plan.top.max() + PATCH > h or plan.left.max() + PATCH > w:
        raise ValueError(f"fragment origins leave the {h}x{w} frame")
    frames = frames.contiguous()
    out = torch.empty((TECH_CLIPS, 3, CLIP_LEN, SIZE, SIZE), dtype=torch.float32, device=frames.device)
    top = torch.from_numpy(plan.top).to(frames.device)
    left = torch.from_numpy(plan.left).to(frames.device)
    stream = torch.cuda.current_stream(frames.device).cuda_stream if frames.is_cuda else 0
    native().fragment_gather(frames, top, left, out, MEAN, STD, PATCH, stream)
    return out


class FragmentMosaics:
    """The technical view's per-frame transform (`FrameRequest.transform`): row k of the 96 technical frames
    -> its uint8 (224, 224, 3) mosaic of the 7 x 7 fragments of technical clip k // 32 (after the small-frame
    upscale), so the view holds 150 KB a frame instead of the whole frame (Note [Fragment mosaics])."""

    def __init__(self, plan: SamplingPlan) -> None:
        self.plan = plan
        self._index: dict[torch.device, torch.Tensor] = {}  # (clips, 224*224) flat pixel index, per device

    def _flat_index(self, width: int, device: torch.device) -> torch.Tensor:
        if device not in self._index:  # made on the device from the 2 x 147 origins
            a = torch.arange(PATCH, device=device)
            top = torch.as_tensor(self.plan.top, dtype=torch.int64, device=device)[..., None, None]
            left = torch.as_tensor(self.plan.left, dtype=torch.int64, device=device)[..., None, None]
            flat = (top + a[:, None]) * width + left + a[None, :]  # (clip, i, j, y, x)
            self._index[device] = flat.permute(0, 1, 3, 2, 4).reshape(TECH_CLIPS, SIZE * SIZE)
        return self._index[device]

    def __call__(self, frame: torch.Tensor, row: int) -> torch.Tensor:
        if tuple(frame.shape) != (self.plan.height, self.plan.width, 3):
            raise ValueError(
                f"technical frame must be ({self.plan.height}, {self.plan.width}, 3), got {tuple(frame.shape)}"
            )
        if self.plan.upscale is not None:
            frame = upscale_frames(frame[None], self.plan.upscale)[0]
        index = self._flat_index(frame.shape[1], frame.device)[row // CLIP_LEN]
        return frame.reshape(-1, 3).index_select(0, index).reshape(SIZE, SIZE, 3)


def mosaic_view(mosaics: torch.Tensor) -> torch.Tensor:
    """mosaics: uint8 (96, 224, 224, 3) from `FragmentMosaics` -> float32 (3, 3, 32, 224, 224), exactly
    `technical_view` of the whole frames (the same native gather, over the mosaics' own regular grid)."""
    from ..native import native

    if tuple(mosaics.shape) != (TECH_CLIPS * CLIP_LEN, SIZE, SIZE, 3):
        raise ValueError(
            f"technical mosaics must be ({TECH_CLIPS * CLIP_LEN}, {SIZE}, {SIZE}, 3), got {tuple(mosaics.shape)}"
        )
    grid = PATCH * torch.arange(GRID, dtype=torch.int32)
    top = grid[None, :, None].expand(TECH_CLIPS, GRID, GRID).contiguous().to(mosaics.device)
    left = grid[None, None, :].expand(TECH_CLIPS, GRID, GRID).contiguous().to(mosaics.device)
    out = torch.empty((TECH_CLIPS, 3, CLIP_LEN, SIZE, SIZE), dtype=torch.float32, device=mosaics.device)
    stream = torch.cuda.current_stream(mosaics.device).cuda_stream if mosaics.is_cuda else 0
    native().fragment_gather(mosaics.contiguous(), top, left, out, MEAN, STD, PATCH, stream)
    return out


def resize_aesthetic(frames: torch.Tensor) -> torch.Tensor:
    """torchvision `Resize((224, 224))` with antialias on uint8: uint8 (N, H, W, 3) -> uint8 (N, 224, 224, 3)
    (float32 antialiased bilinear, align_corners=False, then round half to even)."""
    x = frames.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False, antialias=True)
    return x.round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def aesthetic_view(frames: torch.Tensor) -> torch.Tensor:
    """frames: uint8 (32, H, W, 3) at plan.aes_indices (224x224 from the decoder, else resized here)
    -> float32 (1, 3, 32, 224, 224) normalised."""
    if frames.shape[0] != AES_SEGMENTS or frames.shape[-1] != 3:
        raise ValueError(f"aesthetic frames must be ({AES_SEGMENTS}, H, W, 3), got {tuple(frames.shape)}")
    if tuple(frames.shape[1:3]) != (SIZE, SIZE):
        frames = resize_aesthetic(frames)
    return normalise(frames).unsqueeze(0)


def normalise(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) RGB -> float32 (3, N, H, W), (v - mean) / std per channel."""
    mean = torch.tensor(MEAN, dtype=torch.float32, device=frames.device)
    std = torch.tensor(STD, dtype=torch.float32, device=frames.device)
    return ((frames.float() - mean) / std).permute(3, 0, 1, 2)
