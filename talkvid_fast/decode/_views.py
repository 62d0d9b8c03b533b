"""Note [Decode passes]: the frames that stages asked for, converted once into every view that wants them
(from the scene buffer, or decoded again for a clip the buffer could not hold)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..clips import Clip
from ..stages._api import FrameRequest
from ._api import VideoDecoder


@dataclass
class _Slot:
    out: torch.Tensor  # uint8 (N, H, W, 3) view being filled
    positions: list[int]  # rows of `out` that take this frame
    size: tuple[int, int] | None
    antialias: bool
    uint8: bool
    transform: Callable[[torch.Tensor, int], torch.Tensor] | None


def resize_rgb(
    image: torch.Tensor, size: tuple[int, int] | None, antialias: bool, uint8: bool = False
) -> torch.Tensor:
    """image: uint8 (H, W, 3) on any device -> uint8 (size[0], size[1], 3), bilinear, half-pixel centres.

    Antialiased: torch's float kernel, rounded (torchvision's v1 `Resize` on a uint8 tensor), or with `uint8`
    on the CPU its uint8 kernel (PIL's fixed-point filter, FrameRequest.antialias_uint8)."""
    if size is None or tuple(image.shape[:2]) == tuple(size):
        return image
    if image.device.type == "cpu" and not antialias:
        # cv2's INTER_LINEAR is the same half-pixel bilinear, and far faster than torch on the CPU.
        return torch.from_numpy(cv2.resize(image.numpy(), (size[1], size[0]), interpolation=cv2.INTER_LINEAR))
    if image.device.type == "cpu" and uint8:
        x = image.permute(2, 0, 1)[None]
        y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return y[0].permute(1, 2, 0).contiguous()
    x = image.permute(2, 0, 1)[None].float()
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)
    return y[0].permute(1, 2, 0).round_().clamp_(0, 255).to(torch.uint8)


def requested_frames(work: list[tuple[Clip, str, list[FrameRequest]]]) -> np.ndarray:
    """Sorted unique absolute frame indices that `work` asks for."""
    parts = [np.asarray(r.indices, dtype=np.int64) + clip.start_frame for clip, _, reqs in work for r in reqs]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def gather_views(
    decoder: VideoDecoder,
    pts: np.ndarray,
    work: list[tuple[Clip, str, list[FrameRequest]]],
    frames: Callable[[np.ndarray], Iterator[tuple[int, torch.Tensor]]] | None = None,
) -> tuple[dict[tuple[str, str], dict[str, torch.Tensor]], float]:
    """Delivers every frame requested for a batch of clips into its views, each source frame read once.

    work: (clip, stage name, that stage's requests for the clip). `frames(indices)` yields (index, RGB
    display-orientation frame) for sorted unique absolute indices: the scene buffer's frames, or by default
    a decode by `decoder.frames` on the scan's timeline `pts`. Returns {(clip_id, stage): views} and the
    wall seconds spent. Frame indices in requests are relative to the clip.
    """
    started = time.perf_counter()
    meta = decoder.metadata
    views: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    slots: dict[int, list[_Slot]] = defaultdict(list)
    for clip, stage, requests in work:
        stage_views: dict[str, torch.Tensor] = {}
        for req in requests:
            idx = np.asarray(req.indices, dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= clip.num_frames):
                raise ValueError(
                    f"{stage} asked for frames outside clip {clip.clip_id} (0..{clip.num_frames - 1})"
                )
            if req.transform is not None and req.size is None:
                raise ValueError(f"{stage}: view {req.name!r} has a transform but no size")
            h, w = req.size if req.size is not None else (meta.height, meta.width)
            out = torch.empty((idx.size, h, w, 3), dtype=torch.uint8, device=decoder.device)
            stage_views[req.name] = out
            by_frame: dict[int, list[int]] = defaultdict(list)
            for row, i in enumerate(idx.tolist()):
                by_frame[clip.start_frame + i].append(row)
            for frame_index, rows in by_frame.items():
                slots[frame_index].append(
                    _Slot(out, rows, req.size, req.antialias, req.antialias_uint8, req.transform)
                )
        views[(clip.clip_id, stage)] = stage_views
    if slots:
        source = frames if frames is not None else (lambda idx: decoder.frames(idx, pts))
        for index, image in source(np.fromiter(slots, dtype=np.int64)):
            resized: dict[tuple[tuple[int, int] | None, bool, bool], torch.Tensor] = {}
            for slot in slots[index]:
                if slot.transform is not None:  # each row its own part of the frame
                    for row in slot.positions:
                        slot.out[row] = slot.transform(image, row)
                    continue
                key = (slot.size, slot.antialias, slot.uint8)
                if key not in resized:
                    resized[key] = resize_rgb(image, slot.size, slot.antialias, slot.uint8)
                for row in slot.positions:
                    slot.out[row] = resized[key]
    return views, time.perf_counter() - started
