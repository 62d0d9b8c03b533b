"""Export of passing clips: media files and the TalkVid-format JSON, or spans without re-encoding."""

from __future__ import annotations

from ._cut import EXPORT_MODES, ExportedClip, ExportParams, export_clip, export_clip_async, export_clips
from ._encode import ENCODERS, EncodePool, select_encoder
from ._spans import SPANS_JSON, span_export, span_record, write_spans_json
from ._talkvid import HELD_OUT_JSON, TALKVID_JSON, held_out_ids, hold_out, talkvid_record, write_talkvid_json

__all__ = [
    "ENCODERS",
    "EXPORT_MODES",
    "HELD_OUT_JSON",
    "SPANS_JSON",
    "TALKVID_JSON",
    "EncodePool",
    "ExportParams",
    "ExportedClip",
    "export_clip",
    "export_clip_async",
    "export_clips",
    "held_out_ids",
    "hold_out",
    "select_encoder",
    "span_export",
    "span_record",
    "talkvid_record",
    "write_spans_json",
    "write_talkvid_json",
]
