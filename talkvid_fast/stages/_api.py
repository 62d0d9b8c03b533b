"""The contract between the pipeline and a filter stage (quality, motion, head).

Note [Stage contract]: a stage is a small object whose fields are its config. The pipeline
  1. builds it once per worker with `Stage(params, device=...)` (params = the profile's section),
  2. calls `setup()` once (load weights, build engines); a stage that cannot run raises
     `StageUnavailable`, and the pipeline records "not run: <reason>" on every clip (never a fake score),
  3. asks `requests(clip)` which frames it needs, decodes each clip once, hands every stage its views,
  4. calls `process(batch)` with several clips at once and gets one `StageResult` per clip, in order.
A failure on one clip is returned as a result with `error` set, not raised.
`whole_source` (optional, True when absent) says that `requests(clip)` reads facts of the whole source
(`clip.source.fps`, duration, frame count); the pipeline then asks only once the scan has ended. A stage
that sets it False is asked as soon as its clip's scene closes (Note [Scene buffer]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from ..clips import Clip


class StageUnavailable(RuntimeError):
    """A stage cannot run here: `reason` says why, `fix` says what to do (for example the fetch command)."""

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(f"{reason}. {fix}".strip() if fix else reason)
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class FrameRequest:
    """Frames of one clip that a stage needs, decoded once and delivered as one tensor.

    The pipeline delivers `views[name]`: uint8 RGB, shape (len(indices), H, W, 3) on the stage's device,
    H, W = `size` or the source's display size when `size` is None. Resizing is bilinear with half-pixel
    centres (antialiased when `antialias`). Indices may repeat (they are gathered, in the given order).
    With `transform`, row k is `transform(frame, k)` of the full-resolution frame instead (shape `size`):
    a view that keeps a small part of each frame (DOVER's fragments) never holds the whole frame.
    """

    name: str  #: key of the view in the dict handed to `process`
    indices: (
        np.ndarray
    )  #: int64 (N,), frame numbers relative to the clip's first frame, 0 <= i < clip.num_frames
    size: tuple[int, int] | None = None  #: (H, W) of the delivered frames; None keeps the display size
    antialias: bool = False  #: antialiased downscale (torchvision/PIL semantics) instead of plain bilinear
    #: with `antialias`, on the CPU: torch's uint8 kernel (PIL's fixed-point filter, within one level of the
    #: float one and 5-15x cheaper) for a view whose exact numbers no upstream pins (the speaker's frames)
    antialias_uint8: bool = False
    #: uint8 (H, W, 3) display-orientation frame, row -> uint8 (*size, 3) on the frame's device
    transform: Callable[[torch.Tensor, int], torch.Tensor] | None = None


Views = dict[str, torch.Tensor]


@dataclass
class StageResult:
    """What one stage says about one clip."""

    scores: dict[str, Any] = field(default_factory=dict)  #: named scores, JSON-serialisable scalars
    gates: dict[str, bool] = field(default_factory=dict)  #: per-gate verdict, e.g. {"movement_avg": True}
    passed: bool = False  #: every gate passed
    failed_gate: str | None = None  #: first failing gate, or a reason such as "no_face"
    error: str | None = None  #: set when the clip could not be scored (the run goes on)
    backend: str = ""  #: what scored it: "dover-torch-cpu", "klt", "facemesh-onnxruntime", ...
    model: str = ""  #: weights identity: file name and sha256 prefix, or "random" in tests
    fallback_calls: int = 0  #: model calls for this clip that ran on torch, not `backend`'s picked engine


class FilterStage(Protocol):
    """Interface of the quality, motion and head stages (see Note [Stage contract])."""

    name: ClassVar[str]  #: "quality" | "motion" | "head"
    # optional `whole_source: bool` (see Note [Stage contract]); not declared here so older stages still fit

    def setup(self) -> None: ...

    def requests(self, clip: Clip) -> list[FrameRequest]: ...

    def process(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]: ...
