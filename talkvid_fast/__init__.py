"""talkvid_fast: curates talking-head video datasets (TalkVid's filters, on NVDEC, engines and kernels)."""

from __future__ import annotations

__version__ = "0.1.0"
