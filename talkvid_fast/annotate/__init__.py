"""Clip annotation through a vision-language model: the TalkVid paper's Appendix F prompt (docs/annotate.md)."""

from __future__ import annotations

from ._client import ChatClient, ChatReply, EndpointFatal, RequestFailed
from ._prompt import ImageOptions, appendix_f_prompt, appendix_f_structure, demographics_addendum
from ._run import AnnotateOptions, AnnotateSummary, annotate_clip, annotate_run, cache_key
from ._store import ANNOTATIONS, AnnotationStore, clip_annotations
from ._validate import AGE_GROUPS, ETHNICITIES, GENDERS, InvalidReply, validate_reply

__all__ = [
    "AGE_GROUPS",
    "ANNOTATIONS",
    "ETHNICITIES",
    "GENDERS",
    "AnnotateOptions",
    "AnnotateSummary",
    "AnnotationStore",
    "ChatClient",
    "ChatReply",
    "EndpointFatal",
    "ImageOptions",
    "InvalidReply",
    "RequestFailed",
    "annotate_clip",
    "annotate_run",
    "appendix_f_prompt",
    "appendix_f_structure",
    "cache_key",
    "clip_annotations",
    "demographics_addendum",
    "validate_reply",
]
