"""Agreement of the engine's verdicts with human labels (the TalkVid paper's Table 7), and between annotators."""

from __future__ import annotations

from ._filters import Filter, Verdict, default_filters, head_gates_in, parse_map, stages_in
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
    "head_gates_in",
    "load_labels",
    "mean_defined",
    "parse_map",
    "render_markdown",
    "stages_in",
    "to_json",
]
