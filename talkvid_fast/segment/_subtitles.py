"""Subtitle gating (spec stage 1.5): WebVTT and SRT both parsed (pysubs2), cues tested for overlap."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<[^>]*>")
_VTT_SETTINGS = "align:start position:0%"


class SubtitleError(ValueError):
    """A subtitle file that cannot be parsed."""


@dataclass(frozen=True)
class Cue:
    start: float  #: seconds
    end: float
    text: str  #: text with tags removed, stripped


def clean_text(text: str) -> str:
    """Removes <...> tags (and pysubs2's {\\...} overrides) and the literal VTT setting the official code strips."""
    text = _TAG.sub("", text).replace(_VTT_SETTINGS, "")
    text = re.sub(r"\{\\[^}]*\}", "", text)
    return text.replace("\\N", "\n").replace("\\n", "\n").strip()


def load_cues(path: str) -> list[Cue]:
    """Parses a .vtt or .srt file (the format is detected from the content); raises SubtitleError."""
    import pysubs2

    try:
        subs = pysubs2.load(path, encoding="utf-8")
    except (pysubs2.exceptions.Pysubs2Error, UnicodeDecodeError, ValueError, OSError) as exc:
        raise SubtitleError(f"{path}: cannot parse subtitles ({type(exc).__name__}: {exc})") from exc
    return [Cue(ev.start / 1000.0, ev.end / 1000.0, clean_text(ev.text)) for ev in subs if not ev.is_comment]


def has_speech_cue(cues: list[Cue], start: float, end: float) -> bool:
    """True iff a cue overlaps [start, end] with non-empty text that is not `[Music]` (official semantics)."""
    return any(c.start <= end and c.end >= start and c.text and c.text != "[Music]" for c in cues)


def cues_in(cues: list[Cue], start: float, end: float) -> list[Cue]:
    """Cues overlapping [start, end), shifted to the clip's time base and clipped to it (for export)."""
    out = []
    for c in cues:
        if c.start < end and c.end > start and c.text:
            out.append(Cue(max(0.0, c.start - start), min(end, c.end) - start, c.text))
    return out
