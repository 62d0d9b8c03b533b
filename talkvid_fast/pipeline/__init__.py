"""The pipeline: stage 1, the filter stages on one decode, export; driven per source with a resumable journal."""

from __future__ import annotations

from ._config import ALL_STAGES, RunConfig, parse_stages
from ._driver import RunOutcome, run_sources
from ._worker import Worker

__all__ = ["ALL_STAGES", "RunConfig", "RunOutcome", "Worker", "parse_stages", "run_sources"]
