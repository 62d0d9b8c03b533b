"""webrtcvad's verdict per 30 ms frame of 16 kHz mono int16 audio (the paper profile's speech detector)."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 480  #: 30 ms at 16 kHz, a frame size webrtcvad accepts
HOP_S = FRAME / SAMPLE_RATE


def webrtc_flags(audio: np.ndarray, aggressiveness: int = 2) -> np.ndarray:
    """bool (n,): webrtcvad's verdict on each whole 30 ms frame (frame i starts at sample 480 i)."""
    import webrtcvad

    if not 0 <= aggressiveness <= 3:
        raise ValueError(f"vad aggressiveness must be 0..3, got {aggressiveness}")
    vad = webrtcvad.Vad(aggressiveness)
    n = len(audio) // FRAME
    frames = np.ascontiguousarray(audio[: n * FRAME].astype(np.int16)).reshape(n, FRAME)
    return np.array([vad.is_speech(f.tobytes(), SAMPLE_RATE) for f in frames], dtype=bool)
