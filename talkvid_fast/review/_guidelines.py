"""What the annotator is asked for each criterion: the TalkVid paper's annotation guidelines (Appendix C.3),
in our own words, and how a key press is written into a labels file."""

from __future__ import annotations

from typing import Any

#: criterion -> (question, guideline)
GUIDELINES: dict[str, tuple[str, str]] = {
    "visual_quality": (
        "Is the picture quality good?",
        "Judge the technical and aesthetic quality as a viewer would: sharp, well exposed, no heavy compression "
        "blocks, noise, blur or flicker. Positive: good. Negative: poor (you would not want to train on it). "
        "Unsure: fair / in between.",
    ),
    "camera_stable": (
        "Is the camera steady?",
        "Look at the background and the frame, not the person: no shaking, jerky pans, zooms or cuts. A person "
        "who moves in front of a still camera is still a steady camera.",
    ),
    "speaking": (
        "Is the visible person speaking (and is the sound their speech)?",
        "Play the sound. Positive: the person on screen talks and the audio is that speech. Negative: silence, "
        "music or singing, a voice-over or someone off screen, no audio track, or a mouth that does not move "
        "with the words.",
    ),
    "frontal": (
        "Does the face look towards the camera?",
        "Positive when the face is frontal or nearly so for most of the clip (both eyes visible, nose pointing "
        "roughly at the camera). Negative for profile views or a face turned away for a large part.",
    ),
    "stable_head": (
        "Is the head position stable?",
        "Positive when the head stays in roughly the same place in the frame, moving only as people do while "
        "talking. Negative for large or abrupt movements: walking, leaning in and out, jumps of the face box.",
    ),
    "still_rotation": (
        "Is the head free of noticeable rotation?",
        "Exceptionally strict: any noticeable turn, nod, shake or tilt of the head makes it negative. Positive "
        "only for a head that stays still in orientation throughout.",
    ),
    "face_complete": (
        "Is the whole face visible?",
        "Eyes, nose and mouth inside the frame and not covered (hands, microphones, masks, cropping) for the "
        "whole clip.",
    ),
    "face_large": (
        "Is the face large enough?",
        "Positive when the face box covers about a tenth of the frame or more (a head-and-shoulders shot). "
        "Negative for a small face in a wide or full-body shot.",
    ),
    "single_face": (
        "Is there exactly one face?",
        "Positive when exactly one person's face is visible throughout. Negative with no face, or with a "
        "second face (another person, a face on a poster or screen) in view.",
    ),
    "keep": (
        "Would you keep this clip for training an audio-driven talking head?",
        "One real person speaking to the camera, with their speech audible, a clear face and a steady camera. "
        "Negative for anything you would throw out of such a training set.",
    ),
}

KEYS = {"positive": ("y", "1"), "negative": ("n", "2"), "unsure": ("u", "3")}
#: graded criteria: key -> grade written into the labels file
GRADED = {"visual_quality": {"positive": "good", "negative": "poor", "unsure": "fair"}}


def label_value(criterion: str, answer: str) -> Any:
    """positive / negative / unsure -> the value in labels.json's format (true, false, "uncertain", a grade)."""
    if answer not in KEYS:
        raise ValueError(f"answer {answer!r}; allowed: {', '.join(KEYS)}")
    if criterion in GRADED:
        return GRADED[criterion][answer]
    return {"positive": True, "negative": False, "unsure": "uncertain"}[answer]


def guideline(criterion: str) -> tuple[str, str]:
    return GUIDELINES.get(
        criterion, (f"Does the clip meet '{criterion}'?", "No written guideline for this criterion.")
    )
