"""The RTF harness: a reproducible multi-shot benchmark corpus, and RTF per stage and end to end on it."""

from __future__ import annotations

from ._corpus import SIZES, SourceSpec, build_corpus, load_corpus

__all__ = ["SIZES", "SourceSpec", "build_corpus", "load_corpus"]
