"""Filter stages, looked up by name; each is imported only when a run asks for it."""

from __future__ import annotations

import importlib
from typing import Any

from ._api import FilterStage, FrameRequest, StageResult, StageUnavailable, Views

__all__ = [
    "FILTER_STAGES",
    "FilterStage",
    "FrameRequest",
    "StageResult",
    "StageUnavailable",
    "Views",
    "load_stage",
]

# Stage name -> "module:Class". The order is the order in which the pipeline runs them.
FILTER_STAGES: dict[str, str] = {
    "quality": "talkvid_fast.quality.stage:QualityStage",
    "motion": "talkvid_fast.motion.stage:MotionStage",
    "head": "talkvid_fast.head.stage:HeadStage",
    "speaker": "talkvid_fast.speaker.stage:SpeakerStage",  # runs only with a [speaker] profile section
}


def load_stage(name: str, params: dict[str, Any], device: str) -> FilterStage:
    """Builds the stage `name` from its profile section; raises StageUnavailable if its code is absent."""
    if name not in FILTER_STAGES:
        raise ValueError(f"unknown stage {name!r}; allowed: {', '.join(FILTER_STAGES)}")
    module_name, class_name = FILTER_STAGES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.startswith("talkvid_fast"):
            raise StageUnavailable(f"stage {name} is not implemented in this build ({exc.name})") from exc
        raise
    cls = getattr(module, class_name)
    stage: FilterStage = cls(params, device=device)
    return stage
