"""What a run was asked to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..export import ExportParams
from ..profile import Profile
from ..segment import SegmentParams
from ..stages import FILTER_STAGES

ALL_STAGES = ("segment", *FILTER_STAGES, "export")


def parse_stages(text: str) -> list[str]:
    """'segment,quality,export' or 'all' -> ordered stage list; segment is always included."""
    names = list(ALL_STAGES) if text.strip() == "all" else [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in ALL_STAGES]
    if unknown:
        raise ValueError(
            f"unknown stages {unknown}; allowed: all, or a comma list of {', '.join(ALL_STAGES)}"
        )
    return [s for s in ALL_STAGES if s in names or s == "segment"]


@dataclass(frozen=True)
class RunConfig:
    profile: Profile
    output: Path
    stages: list[str] = field(default_factory=lambda: list(ALL_STAGES))
    device: str = "cpu"
    decoder: str = "auto"
    clip_batch: int = 8  #: clips whose frames are decoded together and sent to the stages as one batch
    cascade: bool = False  #: run a filter stage only on clips that passed the stages before it
    export: ExportParams = field(default_factory=ExportParams)
    decode_streams: int = 0  #: decode threads per worker; 0: 1 on the CPU, the GPU's NVDEC engine count
    scene_buffer_mb: int = -1  #: per decode stream (Note [Scene buffer]); -1: 4096; 0: none

    @property
    def filter_stages(self) -> list[str]:
        return [s for s in self.stages if s in FILTER_STAGES]

    @property
    def segment(self) -> SegmentParams:
        return SegmentParams.from_profile(self.profile.section("segment"))
