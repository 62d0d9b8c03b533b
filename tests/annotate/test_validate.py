"""The Appendix F prompt file and the reply validator (Note [Reply structure])."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from talkvid_fast.annotate import InvalidReply, appendix_f_prompt, appendix_f_structure, validate_reply

from .fake_vlm import DEMOGRAPHICS, EXAMPLE, good_reply


def test_prompt_file_is_the_papers_text() -> None:
    text = appendix_f_prompt()
    # opening and closing sentences of Appendix F.1 as printed in arXiv 2508.13618v1
    assert text.startswith(
        "Analyze the video with precise focus on anatomical movement patterns and behavioral dynamics."
    )
    assert text.endswith("- The entire response should be valid JSON that can be parsed directly")
    # the seven top-level parts and the five confidence scores the paper's structure names
    structure = appendix_f_structure()
    assert list(structure) == [
        "scene_context",
        "movement_analysis",
        "interactions",
        "audio_behavioral_analysis",
        "movement_metrics",
        "anomaly_detection",
        "description_summary",
    ]
    assert sorted(structure["movement_analysis"]["confidence_scores"]) == [
        "hand_tracking",
        "head_tracking",
        "overall_confidence",
        "posture_analysis",
        "torso_tracking",
    ]
    assert "#" not in text.splitlines()[0]  # the provenance header is not sent


def test_the_papers_own_example_reply_is_valid() -> None:
    data, groups = validate_reply(json.dumps(EXAMPLE), demographics=False)
    assert data == EXAMPLE and groups == {}
    data, groups = validate_reply(good_reply())
    assert groups == DEMOGRAPHICS


def test_a_fenced_reply_and_synonyms_are_accepted() -> None:
    reply = {
        **EXAMPLE,
        "demographics": {"age_group": "31–45", "gender": "female", "ethnicity": "African", "language": "fr"},
    }
    _, groups = validate_reply("```json\n" + json.dumps(reply) + "\n```")
    assert groups == {"age_group": "31-45", "gender": "Female", "ethnicity": "Black", "language": "fr"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: "not json {", "not valid JSON"),
        (lambda d: json.dumps([d]), "one JSON object"),
        (
            lambda d: json.dumps({k: v for k, v in d.items() if k != "description_summary"}),
            "description_summary is missing",
        ),
        (lambda d: json.dumps({**d, "description_summary": ""}), "description_summary is missing"),
        (
            lambda d: json.dumps(
                {**d, "movement_analysis": {**d["movement_analysis"], "head_movements": "nods"}}
            ),
            "head_movements must be a list",
        ),
        (
            lambda d: json.dumps({**d, "scene_context": {**d["scene_context"], "subject": [1, 2]}}),
            "subject must be a list of strings",
        ),
        (
            lambda d: json.dumps(
                {
                    **d,
                    "movement_analysis": {
                        **d["movement_analysis"],
                        "confidence_scores": {"head_tracking": 1.5},
                    },
                }
            ),
            "head_tracking must be between 0 and 1",
        ),
        (
            lambda d: json.dumps({k: v for k, v in d.items() if k != "demographics"}),
            "demographics is missing",
        ),
        (
            lambda d: json.dumps({**d, "demographics": {**DEMOGRAPHICS, "age_group": "40"}}),
            "age_group must be one of",
        ),
        (
            lambda d: json.dumps({**d, "demographics": {**DEMOGRAPHICS, "ethnicity": "Martian"}}),
            "ethnicity must be one of",
        ),
    ],
)
def test_invalid_replies_are_rejected_with_the_reason(
    mutate: Callable[[dict[str, Any]], str], message: str
) -> None:
    with pytest.raises(InvalidReply, match=message):
        validate_reply(mutate(json.loads(good_reply())))
