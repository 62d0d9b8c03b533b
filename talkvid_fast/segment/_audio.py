"""Audio: decode any audio stream to 16 kHz mono int16 (PyAV), 16 kHz WAV files, and a voice-activity gate (webrtcvad)."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import av
import numpy as np

from ..vad import SAMPLE_RATE, VadParams
from ..vad import speech_fraction as _fraction
from ..vad._webrtc import webrtc_flags


class NoAudio(Exception):
    """The source has no audio stream (or it cannot be decoded)."""


def load_audio_16k(path: str, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Decodes the first audio stream of `path` to int16 mono at 16 kHz, samples in [start, end) seconds."""
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise NoAudio(f"{path}: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise NoAudio(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        if start > 1.0:
            container.seek(int((start - 1.0) * av.time_base), backward=True)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        try:
            for frame in container.decode(stream):
                if first_time is None:
                    first_time = float(frame.time) if frame.time is not None else 0.0
                if end is not None and frame.time is not None and frame.time > end + 0.1:
                    break
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            if not chunks:
                raise NoAudio(f"{path}: audio cannot be decoded ({exc})") from exc
    if not chunks:
        raise NoAudio(f"{path}: audio stream has no samples")
    audio = np.concatenate(chunks).astype(np.int16)
    offset = first_time or 0.0  # samples[0] plays at `offset` seconds
    a = max(0, int(round((start - offset) * SAMPLE_RATE)))
    b = len(audio) if end is None else max(a, int(round((end - offset) * SAMPLE_RATE)))
    return audio[a:b]


def write_wav_16k(path: Path, samples: np.ndarray) -> None:
    """Writes int16 mono 16 kHz PCM to `path` atomically (a rename, so a killed run never leaves half a file)."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    with wave.open(str(tmp), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(samples.astype("<i2").tobytes())
    os.replace(tmp, path)


def read_wav_16k(path: Path) -> np.ndarray:
    """The int16 samples of a 16 kHz mono 16-bit WAV; anything else is refused."""
    with wave.open(str(path)) as f:
        if (f.getframerate(), f.getnchannels(), f.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: not 16 kHz mono 16-bit PCM")
        return np.frombuffer(f.readframes(f.getnframes()), "<i2").copy()


def speech_flags(audio: np.ndarray, aggressiveness: int = 2) -> np.ndarray:
    """bool (n,): webrtcvad's verdict on each whole 30 ms frame of 16 kHz mono audio (frame i starts at
    sample 480 i)."""
    return webrtc_flags(audio, aggressiveness)


def speech_fraction(audio: np.ndarray, aggressiveness: int = 2) -> float:
    """Fraction of 30 ms frames that webrtcvad calls speech (0 for empty audio)."""
    return _fraction(audio, VadParams(aggressiveness=aggressiveness))
