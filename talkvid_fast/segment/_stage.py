"""Stage 1 for one source: scan once, detect scenes, make clips, gate them on duration and speech."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..clips import Clip, SourceInfo
from ..decode import ScanResult, VideoDecoder
from ..vad import VadParams, speech_fraction
from ._audio import NoAudio, load_audio_16k
from ._scenes import DETECTORS, make_collector, small_size
from ._spans import SpanRule, clips_from_scenes
from ._subtitles import Cue, SubtitleError, has_speech_cue, load_cues

SPEECH_GATES = ("vad", "keep", "off")


@dataclass
class ClipVerdict:
    """Stage 1's record of one clip."""

    clip: Clip
    gates: dict[str, bool] = field(default_factory=dict)  #: "duration", "speech"
    scores: dict[str, Any] = field(default_factory=dict)  #: speech_fraction, speech_source
    failed_gate: str | None = None  #: first failing gate or reason ("duration", "speech", "no_audio", ...)

    @property
    def passed(self) -> bool:
        return self.failed_gate is None


@dataclass
class SegmentResult:
    source: SourceInfo
    scan: ScanResult
    scenes: list[tuple[int, int]]
    verdicts: list[ClipVerdict]
    errors: list[dict[str, str]]  #: source-level problems that did not stop it (e.g. bad subtitles)
    seconds: float


@dataclass(frozen=True)
class SegmentParams:
    detector: str = "histogram"
    detector_params: dict[str, Any] = field(default_factory=lambda: {"threshold": 0.085, "min_scene_len": 15})
    span: SpanRule = field(default_factory=SpanRule)
    speech_gate: str = "vad"
    vad_min_speech: float = 0.5
    vad: VadParams = field(default_factory=VadParams)  #: which detector hears speech (Note [Which VAD])

    @classmethod
    def from_profile(cls, section: dict[str, Any]) -> SegmentParams:
        known = {
            "detector",
            "detector_params",
            "start_trim",
            "end_trim",
            "min_duration",
            "round_duration",
            "speech_gate",
            "vad_min_speech",
            "vad",
            "vad_aggressiveness",
            "vad_threshold",
        }
        unknown = set(section) - known
        if unknown:
            raise ValueError(
                f"[segment]: unknown keys {sorted(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        gate = section.get("speech_gate", "vad")
        if gate not in SPEECH_GATES:
            raise ValueError(f"[segment] speech_gate {gate!r}; allowed: {', '.join(SPEECH_GATES)}")
        detector = section.get("detector", "histogram")
        if detector not in DETECTORS:
            raise ValueError(f"[segment] detector {detector!r}; allowed: {', '.join(DETECTORS)}")
        # without detector_params, the histogram detector gets the paper's; every other its own defaults
        default_params = {"threshold": 0.085, "min_scene_len": 15} if detector == "histogram" else {}
        detector_params = dict(section.get("detector_params", default_params))
        if detector == "transnetv2":
            from ..shots import TransNetParams

            TransNetParams.parse(detector_params)  # fail fast on a bad key or value
        return cls(
            detector=detector,
            detector_params=detector_params,
            span=SpanRule(
                start_trim=float(section.get("start_trim", 0.3)),
                end_trim=float(section.get("end_trim", 0.1)),
                min_duration=float(section.get("min_duration", 5.0)),
                round_duration=bool(section.get("round_duration", False)),
            ),
            speech_gate=gate,
            vad_min_speech=float(section.get("vad_min_speech", 0.5)),
            vad=VadParams.from_section(section, "[segment]"),
        )

    def require_weights(self) -> None:
        """Raises WeightsMissing (naming the fetch command) when the detector's weights are absent: checked
        before a run starts, so a missing file stops the run at once instead of failing every source."""
        if self.detector == "transnetv2":
            from ..shots.weights import TRANSNETV2, WEIGHTS_FILE
            from ..weights import locate

            locate(TRANSNETV2, WEIGHTS_FILE)
        if self.speech_gate == "vad":
            self.vad.require_weights()


def source_info(decoder: VideoDecoder, scan: ScanResult, fields: dict[str, Any]) -> SourceInfo:
    meta = decoder.metadata
    times = scan.times
    step = (
        float(np.median(np.diff(times)))
        if len(times) > 1
        else (1.0 / meta.average_fps if meta.average_fps else 0.04)
    )
    duration = float(times[-1] - times[0]) + step
    return replace(
        provisional_source(decoder, fields),
        duration=duration,
        fps=len(times) / duration if duration > 0 else meta.average_fps,
        num_frames=len(times),
    )


def provisional_source(decoder: VideoDecoder, fields: dict[str, Any]) -> SourceInfo:
    """The source as known before its scan ends (Note [Scene buffer]): duration, fps and frame count are
    not known yet (NaN and 0, so a stage that reads them by mistake fails loudly instead of guessing)."""
    meta = decoder.metadata
    return SourceInfo(
        source_id=str(fields["video-id"]),
        path=meta.path,
        duration=float("nan"),
        width=meta.width,
        height=meta.height,
        fps=float("nan"),
        num_frames=0,
        rotation=meta.rotation,
        video_codec=meta.codec,
        audio_codec=meta.audio_codec,
        audio_path=fields.get("audio-path") or None,
        subtitle_path=fields.get("subtitle-path") or None,
        description_path=fields.get("description-path") or None,
        extra={k: v for k, v in fields.items() if k not in _RESERVED},
        average_fps=meta.average_fps,  # the container's: known before the scan (Note [Official clock])
    )


_RESERVED = {"id", "video-id", "video-path", "audio-path", "subtitle-path", "description-path"}


def segment_source(decoder: VideoDecoder, fields: dict[str, Any], params: SegmentParams) -> SegmentResult:
    """Runs stage 1 on an open decoder; `fields` is the input record (video-id, optional paths, metadata)."""
    started = time.perf_counter()
    meta = decoder.metadata
    collector = make_collector(params.detector, params.detector_params, decoder.device, meta.rotation)
    scan = decoder.scan(small_size(meta.coded_width, meta.coded_height), collector)
    source = source_info(decoder, scan, fields)
    scenes = collector.scenes()
    errors: list[dict[str, str]] = []
    verdicts = [
        ClipVerdict(clip, gates={"duration": ok})
        for clip, ok in clips_from_scenes(source, scenes, scan.times, params.span)
    ]
    for v in verdicts:
        if not v.gates["duration"]:
            v.failed_gate = "duration"
    _speech_gate(source, [v for v in verdicts if v.passed], params, errors)
    return SegmentResult(source, scan, scenes, verdicts, errors, time.perf_counter() - started)


class SpeechGate:
    """Stage 1's speech gate for the clips of one source, clip by clip as scenes close (subtitles read once)."""

    def __init__(self, source: SourceInfo, params: SegmentParams, errors: list[dict[str, str]]) -> None:
        self.source, self.params, self.errors = source, params, errors
        self._cues: list[Cue] | None = None
        self._cues_read = False

    def _load_cues(self) -> list[Cue] | None:
        if not self._cues_read:
            self._cues_read = True
            try:
                self._cues = load_cues(str(self.source.subtitle_path))
            except SubtitleError as exc:
                self.errors.append({"reason": "subtitle_unreadable", "detail": str(exc)})
        return self._cues

    def apply(self, verdicts: list[ClipVerdict]) -> None:
        """Gates the clips that passed so far (sets `gates["speech"]`, scores and `failed_gate`)."""
        source, params = self.source, self.params
        if not verdicts or params.speech_gate == "off":
            return
        if source.subtitle_path:
            cues = self._load_cues()
            for v in verdicts:
                v.scores["speech_source"] = "subtitles"
                ok = cues is not None and has_speech_cue(cues, v.clip.start, v.clip.end)
                v.gates["speech"] = ok
                if not ok:
                    v.failed_gate = "speech" if cues is not None else "subtitle_unreadable"
            return
        if params.speech_gate == "keep":
            for v in verdicts:
                v.scores["speech_source"] = "none (kept: no subtitles)"
                v.gates["speech"] = True
            return
        audio_file = source.audio_path or source.path
        for v in verdicts:
            v.scores["speech_source"] = "vad" if params.vad.method == "webrtcvad" else "vad:silero"
            try:
                fraction = speech_fraction(load_audio_16k(audio_file, v.clip.start, v.clip.end), params.vad)
            except NoAudio as exc:
                v.gates["speech"] = False
                v.failed_gate = "no_audio"
                v.scores["speech_error"] = str(exc)
                continue
            v.scores["speech_fraction"] = round(fraction, 4)
            v.gates["speech"] = fraction >= params.vad_min_speech
            if not v.gates["speech"]:
                v.failed_gate = "speech"


def _speech_gate(
    source: SourceInfo, verdicts: list[ClipVerdict], params: SegmentParams, errors: list[dict[str, str]]
) -> None:
    SpeechGate(source, params, errors).apply(verdicts)
