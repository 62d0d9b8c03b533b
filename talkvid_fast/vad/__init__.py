"""Voice activity: which stretches of a clip's audio are speech (Note [Which VAD]).

Note [Which VAD]: two detectors, chosen per profile (`vad` in [segment] and [speaker]):
- `webrtcvad` (the paper profile's): a GMM on sub-band energies, 30 ms frames. It hears voiced sound, so
  sung vocals and many instruments count as speech (every song in the labelled test media scores 0.93-1.00).
- `silero` (Silero VAD v6, MIT; `open`): a small trained network, 32 ms chunks, speech where its probability
  >= `vad_threshold` (0.5, upstream's default). On the same media it keeps every clip of real speech the labels
  keep (0.57-0.99 of the frames) and hears little speech in the songs (0.00-0.13), while shouting, voice-overs
  and vocals over a beat still count as speech (docs/profiles.md, "Which VAD"; bench/results/open_vad_cpu.md).
Both give bool flags on a fixed hop; `speech_fraction` is the share of flagged frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._webrtc import HOP_S as WEBRTC_HOP_S
from ._webrtc import SAMPLE_RATE, webrtc_flags

VADS = ("webrtcvad", "silero")


@dataclass(frozen=True)
class VadParams:
    """Which detector, and its knob: webrtcvad's mode (0..3) or Silero's probability threshold."""

    method: str = "webrtcvad"
    aggressiveness: int = 2
    threshold: float = 0.5

    @classmethod
    def from_section(cls, section: dict[str, Any], where: str) -> VadParams:
        """From a profile section's `vad`, `vad_aggressiveness`, `vad_threshold`; fails fast on bad values."""
        params = cls(
            method=str(section.get("vad", "webrtcvad")),
            aggressiveness=int(section.get("vad_aggressiveness", 2)),
            threshold=float(section.get("vad_threshold", 0.5)),
        )
        if params.method not in VADS:
            raise ValueError(f"{where} vad {params.method!r}; allowed: {', '.join(VADS)}")
        if not 0 <= params.aggressiveness <= 3:
            raise ValueError(f"{where} vad_aggressiveness must be 0..3, got {params.aggressiveness}")
        if not 0.0 < params.threshold < 1.0:
            raise ValueError(f"{where} vad_threshold must be in (0, 1), got {params.threshold}")
        return params

    def require_weights(self) -> None:
        """WeightsMissing (naming the fetch command) when Silero is chosen and its weights are absent."""
        if self.method == "silero":
            from ..weights import locate
            from .weights import SILERO_VAD, WEIGHTS_FILE

            locate(SILERO_VAD, WEIGHTS_FILE)


def speech_flags(audio: np.ndarray, params: VadParams) -> tuple[np.ndarray, float]:
    """(bool flags, seconds per flag) for int16 mono 16 kHz audio: flag i covers [i hop, (i + 1) hop)."""
    if params.method == "silero":
        from .silero import HOP_S, speech_probabilities

        return speech_probabilities(audio) >= params.threshold, HOP_S
    return webrtc_flags(audio, params.aggressiveness), WEBRTC_HOP_S


def speech_fraction(audio: np.ndarray, params: VadParams) -> float:
    """Fraction of the audio's frames the detector calls speech (0 for empty audio)."""
    flags, _ = speech_flags(audio, params)
    return float(flags.mean()) if len(flags) else 0.0


__all__ = ["SAMPLE_RATE", "VADS", "VadParams", "speech_flags", "speech_fraction"]
