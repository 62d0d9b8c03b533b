"""Stage 3, head detail: face models (facemesh / insightface), head pose, the six head scores."""

from __future__ import annotations

from .scores_reference import GATES, SCORE_NAMES, ClipFaces, head_scores, verdict
from .stage import HeadStage, sample_indices

__all__ = ["GATES", "SCORE_NAMES", "ClipFaces", "HeadStage", "head_scores", "sample_indices", "verdict"]
