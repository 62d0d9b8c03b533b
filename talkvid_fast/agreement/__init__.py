"""Agreement of the engine's verdicts with human labels (the TalkVid paper's Table 7), and between annotators."""

from __future__ import annotations

from ._filters import Filter, Verdict, default_filters, parse_map, recorded_gates, stages_in
from ._labels import GRADES, LabelEntry, LabelIndex, decided, load_labels
from ._stats import Agreement, Confusion, agreement, cohen_kappa, mean_defined
from ._table import Miss, Row, evaluate, render_markdown, to_json

__all__ = [
    "GRADES",
    "Agreement",
    "Confusion",
    "Filter",
    "LabelEntry",
    "LabelIndex",
    "Miss",
    "Row",
    "Verdict",
    "agreement",
    "cohen_kappa",
    "decided",
    "default_filters",
    "evaluate",
    "load_labels",
    "mean_defined",
    "parse_map",
    "recorded_gates",
    "render_markdown",
    "stages_in",
    "to_json",
]
