"""The manifest: a crash-safe JSONL journal (Note [Journal]) plus Parquet tables for analysis."""

from __future__ import annotations

from ._journal import Journal, read_committed, write_atomic
from ._read import RunFolder, read_run
from ._run_info import ProfileChanged, check_or_write_run_info
from ._tables import flatten, write_tables

__all__ = [
    "Journal",
    "ProfileChanged",
    "RunFolder",
    "check_or_write_run_info",
    "flatten",
    "read_committed",
    "read_run",
    "write_atomic",
    "write_tables",
]
