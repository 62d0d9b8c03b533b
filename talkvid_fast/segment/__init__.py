"""Stage 1: rough segmentation (scenes, trims, the 5 s rule, speech gating) into virtual clips."""

from __future__ import annotations

from ._audio import NoAudio, load_audio_16k, read_wav_16k, speech_fraction, write_wav_16k
from ._scenes import DETECTORS, SceneCollector, downscale_factor, make_collector, make_detector, small_size
from ._spans import SpanRule, clip_of_scene, clips_from_scenes
from ._stage import (
    ClipVerdict,
    SegmentParams,
    SegmentResult,
    SpeechGate,
    provisional_source,
    segment_source,
    source_info,
)
from ._subtitles import Cue, SubtitleError, cues_in, has_speech_cue, load_cues

__all__ = [
    "DETECTORS",
    "ClipVerdict",
    "Cue",
    "NoAudio",
    "SceneCollector",
    "SegmentParams",
    "SegmentResult",
    "SpanRule",
    "SpeechGate",
    "SubtitleError",
    "clip_of_scene",
    "clips_from_scenes",
    "cues_in",
    "downscale_factor",
    "has_speech_cue",
    "load_audio_16k",
    "load_cues",
    "make_collector",
    "make_detector",
    "provisional_source",
    "read_wav_16k",
    "segment_source",
    "small_size",
    "source_info",
    "speech_fraction",
    "write_wav_16k",
]
