"""Stage 2a: DOVER quality (technical + aesthetic branches, TalkVid DOVER score). See docs/quality.md."""

from __future__ import annotations

from .model import DOVER, DoverConfig, build_dover
from .scores import REFERENCE_SETS, clip_scores, fused_score, talkvid_dover_score
from .stage import QualityStage

__all__ = [
    "DOVER",
    "REFERENCE_SETS",
    "DoverConfig",
    "QualityStage",
    "build_dover",
    "clip_scores",
    "fused_score",
    "talkvid_dover_score",
]
