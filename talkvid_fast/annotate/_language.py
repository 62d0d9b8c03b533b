"""The spoken language of a clip: the input's own metadata, else its subtitles through langid, else the model.

Note [Language source]: an input record's `language` (the user's, e.g. TalkVid's released `Language`) is
taken as given; else the text of the subtitle cues overlapping the clip is classified by langid (Lui &
Baldwin 2012; the model ships inside the `langid` wheel, nothing is downloaded) when it has at least
MIN_CHARS characters and langid's normalised probability is at least MIN_PROB; else the vision-language
model's answer (which sees the same subtitle text, and the frames) is used. The record says which
(`language_source`: metadata | subtitles | model | none).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..segment._subtitles import SubtitleError, cues_in, load_cues

MIN_CHARS = 20
MIN_PROB = 0.5
# ISO 639-1 code -> the names TalkVid uses (its 14 named languages; others keep their code's name below)
NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ar": "Arabic",
    "pl": "Polish",
    "de": "German",
    "ru": "Russian",
    "fr": "French",
    "ko": "Korean",
    "pt": "Portuguese",
    "ja": "Japanese",
    "th": "Thai",
    "es": "Spanish",
    "it": "Italian",
    "hi": "Hindi",
    "nl": "Dutch",
    "tr": "Turkish",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "uk": "Ukrainian",
    "sv": "Swedish",
}


@cache
def _identifier() -> Any:
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def identify(text: str) -> tuple[str, float] | None:
    """(language name, probability) of `text`, or None when it is too short or langid is unsure."""
    text = " ".join(text.split())
    if len(text) < MIN_CHARS:
        return None
    code, prob = _identifier().classify(text)
    if prob < MIN_PROB:
        return None
    return NAMES.get(code, code), float(prob)


def clip_transcript(subtitle_path: str | None, start: float, end: float) -> str | None:
    """The text of the subtitle cues overlapping [start, end), or None without subtitles."""
    if not subtitle_path:
        return None
    try:
        cues = cues_in(load_cues(subtitle_path), start, end)
    except SubtitleError:
        return None
    text = " ".join(c.text.replace("\n", " ") for c in cues if c.text != "[Music]")
    return text or None


def metadata_language(metadata: dict[str, Any]) -> str | None:
    """The input record's own language field (`language` or TalkVid's `Language`), if set."""
    for key, value in metadata.items():
        if key.lower() == "language" and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def resolve_language(
    metadata: dict[str, Any], transcript: str | None, model_language: str | None
) -> tuple[str, str]:
    """(language, source) as Note [Language source] orders them."""
    given = metadata_language(metadata)
    if given:
        return given, "metadata"
    found = identify(transcript) if transcript else None
    if found is not None:
        return found[0], "subtitles"
    if model_language and model_language != "Unknown":
        return model_language, "model"
    return "Unknown", "none"
