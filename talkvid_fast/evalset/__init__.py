"""TalkVid-Bench sets: a stratified, held-out draw of a run's clips (docs/evaluation.md).
Run `python -m talkvid_fast.evalset build --run OUT`."""

from __future__ import annotations

from .build import BENCH_JSON, build, draw
from .design import ATTRIBUTES, PAPER_DESIGN, Design, Dimension, Group, clip_attributes, load_design

__all__ = [
    "ATTRIBUTES",
    "BENCH_JSON",
    "PAPER_DESIGN",
    "Design",
    "Dimension",
    "Group",
    "build",
    "clip_attributes",
    "draw",
    "load_design",
]
