"""The HTML run report (`report.html`): the paper's funnel and score figures, example thumbnails per gate,
failures, speed and the profile, in one self-contained file (see `_html.py`)."""

from __future__ import annotations

from ._html import write_report
from ._thumbs import frame_at, thumbnail_jpeg

__all__ = ["frame_at", "thumbnail_jpeg", "write_report"]
