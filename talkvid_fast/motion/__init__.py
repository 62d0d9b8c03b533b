"""Stage 2b, motion: CoTracker3 (offline/online, exportable) or a KLT tracker, and the stability ratios."""

from __future__ import annotations

from ._params import BACKENDS, METHODS, MotionParams
from .ratio_reference import (
    official_clip_ratio,
    official_segment_ratio,
    paper_clip_score,
    paper_window_ratios,
)

__all__ = [
    "BACKENDS",
    "METHODS",
    "MotionParams",
    "MotionStage",
    "official_clip_ratio",
    "official_segment_ratio",
    "paper_clip_score",
    "paper_window_ratios",
]


def __getattr__(name: str) -> object:
    # the stage pulls in torch, OpenCV and the model; import it only when asked for
    if name == "MotionStage":
        from .stage import MotionStage

        return MotionStage
    raise AttributeError(name)
