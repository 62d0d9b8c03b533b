"""TalkVid-Core: stricter thresholds and uniform sampling across demographic strata (docs/annotate.md)."""

from __future__ import annotations

from ._params import DIMENSIONS, CoreParams, load_core_params
from ._report import summary_dict, write_report
from ._select import CoreSelection, Stratum, first_failed_rule, select_core, water_level

__all__ = [
    "DIMENSIONS",
    "CoreParams",
    "CoreSelection",
    "Stratum",
    "first_failed_rule",
    "load_core_params",
    "select_core",
    "summary_dict",
    "water_level",
    "write_report",
]
