"""The annotation request: the paper's Appendix F prompt (verbatim data file), our demographics addendum, frames."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import cv2
import numpy as np

SEPARATOR = "=" * 80 + "\n"
IMAGE_FORMATS = ("jpeg", "png")
MAX_TRANSCRIPT_CHARS = 2000


def _data_file(name: str) -> str:
    """The text after the header of a data file in this package (header lines end at the '=' line)."""
    text = resources.files("talkvid_fast.annotate").joinpath(name).read_text(encoding="utf-8")
    if SEPARATOR not in text:
        raise RuntimeError(f"talkvid_fast/annotate/{name}: no header separator line")
    return text.split(SEPARATOR, 1)[1].strip("\n")


@cache
def appendix_f_prompt() -> str:
    """The TalkVid paper's Appendix F.1 prompt, as shipped in `appendix_f_prompt.txt`."""
    return _data_file("appendix_f_prompt.txt")


@cache
def demographics_addendum() -> str:
    """Our addendum asking for the stratification groups (not the paper's text)."""
    return _data_file("demographics_addendum.txt")


@cache
def appendix_f_structure() -> dict[str, Any]:
    """The "Expected JSON structure" of Appendix F, parsed from the prompt itself (the validator's template)."""
    text = appendix_f_prompt()
    body = text.split("Expected JSON structure: ", 1)[1].split(" RESPONSE FORMAT:", 1)[0]
    structure = json.loads(body)
    assert isinstance(structure, dict)
    return structure


def prompt_digest() -> str:
    """Identifies the request texts: a changed prompt or addendum is a different annotation (cache key)."""
    blob = (appendix_f_prompt() + "\0" + demographics_addendum()).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class ImageOptions:
    max_side: int = 640  #: longest side of the images sent, px (frames are only ever shrunk)
    format: str = "jpeg"  #: jpeg | png
    quality: int = 85  #: JPEG quality

    def __post_init__(self) -> None:
        if self.format not in IMAGE_FORMATS:
            raise ValueError(f"unknown image format {self.format!r}; allowed: {', '.join(IMAGE_FORMATS)}")
        if self.max_side < 16:
            raise ValueError(f"max_side must be >= 16, got {self.max_side}")


def data_url(rgb: np.ndarray, options: ImageOptions) -> str:
    """An RGB uint8 (H, W, 3) frame as a base64 data URL, shrunk so its longest side is <= max_side."""
    h, w = rgb.shape[:2]
    scale = options.max_side / max(h, w)
    if scale < 1:
        rgb = cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if options.format == "png":
        ok, buf = cv2.imencode(".png", bgr)
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, options.quality])
    if not ok:
        raise ValueError("image encoding failed")
    mime = "image/png" if options.format == "png" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.tobytes()).decode('ascii')}"


def build_messages(
    image_urls: list[str], transcript: str | None, addendum: bool = True
) -> list[dict[str, Any]]:
    """One user turn in the OpenAI chat format: the paper's prompt, the frames, then our addendum (left out
    with addendum=False: the paper's prompt alone, no subtitles and no demographic groups)."""
    if transcript:
        text = transcript.strip().replace("\n", " ")[:MAX_TRANSCRIPT_CHARS]
        note = f"Subtitles of the speech in this clip: {json.dumps(text, ensure_ascii=False)}"
    else:
        note = "No subtitles are available for this clip."
    content: list[dict[str, Any]] = [{"type": "text", "text": appendix_f_prompt()}]
    content += [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
    if addendum:
        content.append({"type": "text", "text": demographics_addendum().replace("{transcript}", note)})
    return [{"role": "user", "content": content}]


def retry_message(error: str) -> dict[str, Any]:
    """The user turn appended after an invalid reply (with the reply itself as the assistant turn)."""
    return {
        "role": "user",
        "content": (
            f"Your reply was not valid: {error}. Reply again with only the corrected JSON object, "
            "in the structure given above, with no other text."
        ),
    }
