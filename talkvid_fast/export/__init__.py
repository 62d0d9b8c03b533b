"""Export of passing clips: media files and the TalkVid-format JSON."""

from __future__ import annotations

from ._cut import ExportedClip, ExportParams, export_clip
from ._talkvid import TALKVID_JSON, talkvid_record, write_talkvid_json

__all__ = [
    "TALKVID_JSON",
    "ExportParams",
    "ExportedClip",
    "export_clip",
    "talkvid_record",
    "write_talkvid_json",
]
