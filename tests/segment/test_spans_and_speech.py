"""Trims, the 5 s rule, clip ids, subtitle gating (VTT and SRT) and the VAD gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.clips import SourceInfo
from talkvid_fast.segment import (
    SpanRule,
    SubtitleError,
    clips_from_scenes,
    cues_in,
    has_speech_cue,
    load_audio_16k,
    load_cues,
    speech_fraction,
)


def _source(n: int, fps: float = 25.0) -> tuple[SourceInfo, np.ndarray]:
    info = SourceInfo("vid", "/x.mp4", n / fps, 64, 48, fps, n, 0, "h264", None)
    return info, np.arange(n) / fps


def test_trims_and_minimum_duration() -> None:
    info, times = _source(500)  # 20 s at 25 fps
    scenes = [(0, 100), (100, 236), (236, 500)]  # 4.0 s, 5.44 s, 10.56 s
    clips = clips_from_scenes(info, scenes, times, SpanRule())
    (_, ok1), (c2, ok2), (_, ok3) = clips
    assert [c.clip_id for c, _ in clips] == ["vid-scene1", "vid-scene2", "vid-scene3"]
    assert c2.start == pytest.approx(4.3) and c2.end == pytest.approx(9.34)  # +0.3 s, -0.1 s
    assert c2.duration == pytest.approx(5.04)
    assert (ok1, ok2, ok3) == (False, True, True)
    # the clip's frames are exactly those with start <= t < end
    assert c2.start_frame == 108 and c2.end_frame == 234
    assert np.all(c2.frame_times >= c2.start) and np.all(c2.frame_times < c2.end)


def test_official_rounds_duration_before_the_strict_test() -> None:
    info, times = _source(500)
    scenes = [(0, 136)]  # 5.44 s scene -> 5.04 s clip: "5.0s" in the official code, dropped
    assert clips_from_scenes(info, scenes, times, SpanRule(round_duration=True))[0][1] is False
    assert clips_from_scenes(info, scenes, times, SpanRule(round_duration=False))[0][1] is True


def test_clip_ids_are_stable_across_reruns() -> None:
    info, times = _source(400)
    a = [c.clip_id for c, _ in clips_from_scenes(info, [(0, 200), (200, 400)], times, SpanRule())]
    b = [
        c.clip_id
        for c, _ in clips_from_scenes(info, [(0, 200), (200, 400)], times, SpanRule(min_duration=100))
    ]
    assert a == b == ["vid-scene1", "vid-scene2"]


VTT = """WEBVTT

00:00:01.000 --> 00:00:02.500 align:start position:0%
<c>Hello</c> <00:00:01.500>there

00:00:05.000 --> 00:00:06.000
[Music]

00:00:20.000 --> 00:00:21.000
last cue without a blank line"""

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>there</i>

2
00:00:05,000 --> 00:00:06,000
[Music]

3
00:00:20,000 --> 00:00:21,000
last cue without a blank line"""


@pytest.mark.parametrize(("suffix", "text"), [(".vtt", VTT), (".srt", SRT)])
def test_subtitles_parse_and_gate(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"subs{suffix}"
    path.write_text(text, encoding="utf-8")
    cues = load_cues(str(path))
    assert [(c.start, c.end) for c in cues] == [(1.0, 2.5), (5.0, 6.0), (20.0, 21.0)]
    assert cues[0].text.startswith("Hello") and "<" not in cues[0].text and "align" not in cues[0].text
    assert has_speech_cue(cues, 0.0, 1.2)  # overlaps the first cue
    assert not has_speech_cue(cues, 4.0, 7.0)  # only [Music]
    assert has_speech_cue(cues, 19.0, 25.0)  # the last cue is kept (the official regex misses it)
    assert not has_speech_cue(cues, 8.0, 15.0)
    assert [(c.start, c.end) for c in cues_in(cues, 0.5, 5.5)] == [(0.5, 2.0), (4.5, 5.0)]


def test_unparseable_subtitles_raise(tmp_path: Path) -> None:
    path = tmp_path / "bad.srt"
    path.write_bytes(b"\x00\x01 not subtitles {{{")
    with pytest.raises(SubtitleError, match="cannot parse"):
        load_cues(str(path))


def test_vad_finds_speech_in_real_speech_and_none_in_digital_silence(testmedia: Path) -> None:
    speech = load_audio_16k(str(testmedia / "positives" / "sadtalker__WDA_KatieHill_000.mp4"))
    assert len(speech) == pytest.approx(8.0 * 16_000, rel=0.01)
    assert speech_fraction(speech) > 0.7
    silence = load_audio_16k(str(testmedia / "positives" / "liveportrait__d18.mp4"))
    assert speech_fraction(silence) == 0.0
    assert speech_fraction(np.zeros(16_000, np.int16)) == 0.0


def test_audio_span_is_cut_at_the_right_time(testmedia: Path) -> None:
    path = str(testmedia / "positives" / "sadtalker__WDA_KatieHill_000.mp4")
    whole = load_audio_16k(path)
    part = load_audio_16k(path, 2.0, 3.5)
    assert len(part) == pytest.approx(1.5 * 16_000, abs=2)
    offset = 2 * 16_000
    # the same samples as the whole-file decode (AAC priming aside, the resampler is deterministic)
    corr = np.corrcoef(part[1000:20000].astype(float), whole[offset + 1000 : offset + 20000].astype(float))[
        0, 1
    ]
    assert corr > 0.99
