"""The reply validator: parsed JSON checked against Appendix F's structure (Note [Reply structure]).

Note [Reply structure]: the template is the "Expected JSON structure" of the paper's prompt, parsed from the
shipped prompt file, so prompt and validator cannot drift. A template list of strings asks for a list of
strings, an empty template list for a list of anything, 0.0 for a number (the confidence scores: in [0, 1]),
a string for a string, an object for an object checked the same way. Keys are optional except REQUIRED:
the paper's own example reply (Appendix F.2) leaves out six of the template's parts (torso movements,
confidence scores, interactions, audio, metrics, anomalies), so a reply is valid when it has what that
example has that every talking-head clip allows (scene background and subject, head movements, the summary)
plus our "demographics" key with one of the allowed values for each group. Keys outside the template are
kept and not checked. Values are normalised first for case and the paper's own synonyms (Figure 4 says
"African" where Appendix C.4 says "Black").
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._prompt import appendix_f_structure

AGE_GROUPS = ("0-19", "19-30", "31-45", "46-60", "60+")
GENDERS = ("Male", "Female")
ETHNICITIES = ("Black", "White", "Asian", "Other")
UNKNOWN = "Unknown"
REQUIRED = (
    ("scene_context", "background"),
    ("scene_context", "subject"),
    ("movement_analysis", "head_movements"),
    ("description_summary",),
)
_SYNONYMS = {
    "african": "Black",
    "african american": "Black",
    "caucasian": "White",
    "man": "Male",
    "woman": "Female",
    "other": "Other",
    "unknown": UNKNOWN,
}
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)


class InvalidReply(ValueError):
    """A reply that is not JSON or not in the Appendix F structure; the message lists what is wrong."""


def parse_reply(text: str) -> dict[str, Any]:
    """The JSON object of a reply; one surrounding markdown code fence is tolerated."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidReply(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise InvalidReply(f"the reply must be one JSON object, got a JSON {type(data).__name__}")
    return data


def _check(value: Any, template: Any, path: str, problems: list[str]) -> None:
    if isinstance(template, dict):
        if not isinstance(value, dict):
            problems.append(f"{path} must be an object")
            return
        for key, sub in template.items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}", problems)
    elif isinstance(template, list):
        if not isinstance(value, list):
            problems.append(f"{path} must be a list")
        elif template and not all(isinstance(v, str) for v in value):
            problems.append(f"{path} must be a list of strings")
    elif isinstance(template, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path} must be a number")
        elif not 0.0 <= float(value) <= 1.0:
            problems.append(f"{path} must be between 0 and 1, got {value}")
    elif isinstance(template, str) and not isinstance(value, str):
        problems.append(f"{path} must be a string")


def _normalise(value: Any, allowed: tuple[str, ...]) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().replace("–", "-").replace(" ", "") if value.strip()[:1].isdigit() else value.strip()
    by_lower = {a.lower(): a for a in (*allowed, UNKNOWN)}
    return by_lower.get(text.lower(), _SYNONYMS.get(text.lower(), text))


def normalise_group(dimension: str, value: Any) -> str:
    """A group value (annotation or input metadata) in the paper's spelling; "Unknown" when absent or not
    one of the groups of `dimension` (age, gender, ethnicity; language is kept as given)."""
    if not isinstance(value, str) or not value.strip():
        return UNKNOWN
    if dimension == "language":
        return value.strip()
    allowed = {"age": AGE_GROUPS, "gender": GENDERS, "ethnicity": ETHNICITIES}[dimension]
    got = _normalise(value, allowed)
    return got if got in allowed else UNKNOWN


def check_demographics(value: Any, problems: list[str]) -> dict[str, str]:
    """Normalised {age_group, gender, ethnicity, language}; problems appended for anything not allowed."""
    if not isinstance(value, dict):
        problems.append("demographics must be an object with age_group, gender, ethnicity, language")
        return {}
    out: dict[str, str] = {}
    for key, allowed in (("age_group", AGE_GROUPS), ("gender", GENDERS), ("ethnicity", ETHNICITIES)):
        got = _normalise(value.get(key), allowed)
        if got not in (*allowed, UNKNOWN):
            problems.append(
                f"demographics.{key} must be one of {', '.join((*allowed, UNKNOWN))}, got {got!r}"
            )
        else:
            out[key] = got
    language = value.get("language", UNKNOWN)
    if not isinstance(language, str) or not language.strip():
        problems.append("demographics.language must be a non-empty string")
    else:
        out["language"] = language.strip()
    return out


def validate_reply(text: str, demographics: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """(the reply's JSON object, normalised demographics) or InvalidReply listing every problem."""
    data = parse_reply(text)
    problems: list[str] = []
    _check(data, appendix_f_structure(), "$", problems)
    for path in REQUIRED:
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None or node == [] or node == "":
            problems.append(f"$.{'.'.join(path)} is missing or empty")
    groups: dict[str, str] = {}
    if demographics:
        if "demographics" not in data:
            problems.append("the top-level key demographics is missing")
        else:
            groups = check_demographics(data["demographics"], problems)
    if problems:
        raise InvalidReply("; ".join(problems))
    return data, groups
