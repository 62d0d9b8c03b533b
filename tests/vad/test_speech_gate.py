"""The speech gate's detectors on real clips, with the verdicts taken from the human labels
(`../shared/testmedia/labels.json`): every clip of real speech that the labels keep passes with either detector;
the songs (labelled "not speaking; audio is a song") pass webrtcvad's gate, which is why `open` uses Silero's,
and fail Silero's. Threshold: the spec's 0.5 of the clip's frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.segment import NoAudio, load_audio_16k
from talkvid_fast.speaker.stage import heard_frames
from talkvid_fast.vad import VadParams, speech_flags, speech_fraction

SILERO = VadParams(method="silero")
WEBRTC = VadParams(method="webrtcvad")


def labelled(testmedia: Path) -> list[dict]:
    return list(json.loads((testmedia / "labels.json").read_text()))


def value(entry: dict, criterion: str) -> object:
    label = entry["labels"].get(criterion, {})
    return label.get("value") if isinstance(label, dict) else label


def audio_of(testmedia: Path, entry: dict) -> np.ndarray | None:
    try:
        return load_audio_16k(str(testmedia / entry["file"]))
    except NoAudio:
        return None


def test_real_speech_kept_by_the_labels_passes_silero(testmedia: Path, silero_home: Path) -> None:
    checked = []
    for e in labelled(testmedia):
        if (
            value(e, "speaking") is True
            and value(e, "keep") is True
            and (a := audio_of(testmedia, e)) is not None
        ):
            checked.append((e["file"], speech_fraction(a, SILERO)))
    assert len(checked) >= 8
    assert all(f >= 0.5 for _, f in checked), checked


def test_songs_pass_webrtcvad_and_fail_silero(testmedia: Path, silero_home: Path) -> None:
    songs = [
        e
        for e in labelled(testmedia)
        if value(e, "speaking") is False and "audio is a song" in e["labels"]["speaking"].get("reason", "")
    ]
    assert len(songs) >= 2
    for e in songs:
        a = audio_of(testmedia, e)
        assert a is not None
        assert speech_fraction(a, WEBRTC) >= 0.5, e["file"]  # the paper profile's detector hears the song
        assert speech_fraction(a, SILERO) < 0.5, e["file"]


def test_silence_and_noise_are_not_speech(silero_home: Path) -> None:
    rng = np.random.default_rng(1)
    assert speech_fraction(np.zeros(16_000 * 2, np.int16), SILERO) == 0.0
    assert speech_fraction(rng.normal(0, 2000, 16_000 * 2).astype(np.int16), SILERO) < 0.1
    assert speech_fraction(np.zeros(0, np.int16), SILERO) == 0.0


def test_heard_frames_follow_where_speech_is(testmedia: Path, silero_home: Path) -> None:
    """2 s of silence, then 4 s of a real speaker: each detector's 25 fps flags sit in the second part, on
    its own hop (30 ms webrtcvad, 32 ms Silero)."""
    speech = load_audio_16k(str(testmedia / "positives/sadtalker__WDA_KatieHill_000.mp4"))[: 16_000 * 4]
    audio = np.concatenate([np.zeros(16_000 * 2, np.int16), speech])
    for vad, hop in ((WEBRTC, 0.030), (SILERO, 0.032)):
        _, got_hop = speech_flags(audio, vad)
        assert got_hop == pytest.approx(hop)
        heard = heard_frames(audio, 150, vad)
        assert not heard[:48].any(), vad.method  # frames whose centre is in the silence (before 1.92 s)
        assert heard[55:].mean() > 0.7, vad.method
        assert not heard_frames(audio, 200, vad)[151:].any()  # past the audio's end (6 s = 150 frames)


def test_bad_vad_settings_fail_fast_with_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="allowed: webrtcvad, silero"):
        VadParams.from_section({"vad": "energy"}, "[segment]")
    with pytest.raises(ValueError, match=r"vad_threshold must be in \(0, 1\)"):
        VadParams.from_section({"vad": "silero", "vad_threshold": 1.5}, "[segment]")
    with pytest.raises(ValueError, match=r"vad_aggressiveness must be 0\.\.3"):
        VadParams.from_section({"vad_aggressiveness": 4}, "speaker")


def test_silero_without_weights_names_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from talkvid_fast.segment import SegmentParams
    from talkvid_fast.weights import WeightsMissing

    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "empty"))
    params = SegmentParams.from_profile({"vad": "silero"})
    with pytest.raises(WeightsMissing, match=r"python -m talkvid_fast\.weights fetch silero_vad"):
        params.require_weights()
    SegmentParams.from_profile(
        {"vad": "silero", "speech_gate": "keep"}
    ).require_weights()  # no VAD: no weights


def made_instrumental(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """Music with no voice in it, by construction: plucked harmonic notes on the half beat at 100 bpm over a
    kick drum on the beat, and a sustained chord with a slow tremolo."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16_000)) / 16_000
    out = np.zeros_like(t)
    for k, start in enumerate(np.arange(0.0, seconds, 0.3)):
        tt = t[t >= start] - start
        f = rng.choice([220.0, 247.0, 262.0, 294.0, 330.0, 349.0, 392.0, 440.0])
        note = sum(np.sin(2 * np.pi * f * h * tt) / h for h in range(1, 6)) * np.exp(-3 * tt)
        kick = np.sin(2 * np.pi * 60 * tt) * np.exp(-30 * tt) if k % 2 == 0 else 0.0
        out[t >= start] += 0.3 * note + 0.5 * kick
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * (1 + 0.3 * np.sin(np.pi * t))
    out = out / np.abs(out).max() + 0.1 * chord
    return (out / np.abs(out).max() * 0.5 * 32767).astype(np.int16)


def test_instrumental_music_is_speech_to_webrtcvad_and_not_to_silero(silero_home: Path) -> None:
    """The issue's case: a still face over instrumental music passed the speech gate because webrtcvad hears
    the music. Made music holds no speech at all, so the right fraction is 0."""
    music = made_instrumental()
    assert speech_fraction(music, WEBRTC) >= 0.5
    assert speech_fraction(music, SILERO) < 0.1


def test_the_same_clip_audio_is_heard_once(
    testmedia: Path, silero_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Note [Speech once]: stage 1 and the speaker stage hear the same clip's samples; the model runs once for
    them, and other samples run it again."""
    from collections import OrderedDict

    import torch

    import talkvid_fast.vad.silero as silero

    calls: list[int] = []
    forward = silero.SileroVAD.forward

    def counted(self: silero.SileroVAD, x: torch.Tensor) -> torch.Tensor:
        calls.append(len(x))
        return forward(self, x)

    monkeypatch.setattr(silero.SileroVAD, "forward", counted)
    monkeypatch.setattr(silero, "_RECENT", OrderedDict())  # nothing heard before this test
    audio = load_audio_16k(str(testmedia / "positives/retalking__face2.mp4"))
    first = speech_flags(audio, SILERO)[0]
    again = speech_flags(audio.copy(), SILERO)[0]
    assert len(calls) == 1 and np.array_equal(first, again)
    speech_flags(audio[1:], SILERO)
    assert len(calls) == 2
