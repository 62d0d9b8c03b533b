"""The benchmark tool: a reproducible multi-shot corpus, RTF per stage and end to end on it, and the
environment capture every figure is written with (also by the micro-benchmarks in bench/micro/)."""

from __future__ import annotations

from ._corpus import SIZES, SourceSpec, build_corpus, load_corpus
from ._env import PAPER, environment, markdown_table, write_results

__all__ = [
    "PAPER",
    "SIZES",
    "SourceSpec",
    "build_corpus",
    "environment",
    "load_corpus",
    "markdown_table",
    "write_results",
]
