"""The benchmark corpus: deterministic plans and bytes, and cut points that are the true shot changes."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import av
import numpy as np
import pytest

from talkvid_fast.rtf._corpus import (
    FORMAT,
    INPUTS,
    MIN_SHOT_SECONDS,
    SIZES,
    Shot,
    SourceSpec,
    build_corpus,
    load_corpus,
    load_inputs,
    plan_shots,
    sha256_of,
    shot_cuts,
)
from talkvid_fast.rtf._render import render_source


def _luma_diffs(path: Path) -> np.ndarray:
    """Mean |Y(k) - Y(k-1)| for k >= 1 (index k-1), on the decoded frames."""
    diffs, prev = [], None
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            y = frame.to_ndarray(format="gray").astype(np.int16)
            if prev is not None:
                diffs.append(float(np.abs(y - prev).mean()))
            prev = y
    return np.asarray(diffs)


def test_plan_is_seeded_and_covers_every_frame(testmedia: Path) -> None:
    clips = load_inputs(testmedia)
    for spec in SIZES["small"]:
        a = plan_shots(spec, clips, random.Random(f"7/{spec.name}"))
        b = plan_shots(spec, clips, random.Random(f"7/{spec.name}"))
        c = plan_shots(spec, clips, random.Random(f"8/{spec.name}"))
        assert a == b and a != c
        total = round(spec.seconds * spec.fps)
        assert a[0].start_frame == 0 and sum(s.frames for s in a) == total
        for prev, nxt in itertools.pairwise(a):
            assert nxt.start_frame == prev.start_frame + prev.frames
            assert nxt.input != prev.input  # every join is a hard cut between different clips
        by_path = {cl.path: cl for cl in clips}
        for s in a:
            assert s.frames >= round(MIN_SHOT_SECONDS * spec.fps)
            assert s.input_start + s.frames / spec.fps <= by_path[s.input].duration  # the clip supplies it


def test_cuts_are_the_joins() -> None:
    shots = [
        Shot("positives/a.mp4", 0.0, 0, 50),
        Shot("positives/b.mp4", 1.0, 50, 60),
        Shot("positives/a.mp4", 2.0, 110, 40),
    ]
    assert shot_cuts(shots, fps=25) == [
        {"frame": 50, "time": 2.0, "kind": "join"},
        {"frame": 110, "time": 4.4, "kind": "join"},
    ]


def test_render_is_byte_identical(testmedia: Path, tmp_path: Path) -> None:
    spec = SourceSpec("t", "h264", 320, 180, 25, 3.0, 400, "ultrafast")
    shots = [
        Shot("positives/liveportrait__d0.mp4", 0.5, 0, 30),
        Shot("positives/retalking__face3.mp4", 1.0, 30, 45),
    ]
    a = render_source(tmp_path / "a.mp4", spec, shots, testmedia)
    b = render_source(tmp_path / "b.mp4", spec, shots, testmedia)
    assert a == b
    assert sha256_of(tmp_path / "a.mp4") == sha256_of(tmp_path / "b.mp4")
    # 25 fps output from 25 fps clips: one clip frame per output frame, consecutive
    assert a[1] == list(range(a[1][0], a[1][0] + 45))


def test_tiny_corpus_manifest_matches_the_files(tiny_corpus: Path, testmedia: Path) -> None:
    manifest = load_corpus(tiny_corpus)
    assert manifest["format"] == FORMAT and manifest["size"] == "tiny" and manifest["seed"] == 0
    assert {i["path"] for i in manifest["inputs"]} == set(INPUTS)
    assert json.loads((tiny_corpus / "corpus.json").read_text()) == manifest
    for src, spec in zip(manifest["sources"], SIZES["tiny"], strict=True):
        path = tiny_corpus / src["file"]
        assert src["sha256"] == sha256_of(path)
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            assert v.codec_context.name == spec.codec
            assert (v.codec_context.width, v.codec_context.height) == (spec.width, spec.height)
            assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
            frames = sum(1 for _ in c.decode(video=0))
        assert frames == src["frames"] == round(spec.seconds * spec.fps)
        kbps = src["bytes"] * 8 / src["duration"] / 1000
        assert 0.5 * spec.video_kbps < kbps < 2.0 * spec.video_kbps + 200  # near the target (+ AAC)


def test_recorded_cuts_are_the_shot_changes(tiny_corpus: Path) -> None:
    """The recorded cut frames are exactly where the picture jumps: the largest frame differences."""
    manifest = load_corpus(tiny_corpus)
    total = 0
    for src in manifest["sources"]:
        diffs = _luma_diffs(tiny_corpus / src["file"])
        cuts = [c["frame"] for c in src["cuts"]]
        assert cuts == sorted(set(cuts)) and all(0 < f < src["frames"] for f in cuts)
        jumps = diffs[np.asarray(cuts) - 1]
        inside = np.delete(diffs, np.asarray(cuts) - 1)
        assert jumps.min() > 3 * np.percentile(inside, 99), (src["file"], jumps, np.percentile(inside, 99))
        for c in src["cuts"]:
            assert c["time"] == pytest.approx(c["frame"] / src["fps"])
        total += len(cuts)
    assert total >= 4


def test_unknown_size_lists_the_allowed(tmp_path: Path, testmedia: Path) -> None:
    with pytest.raises(ValueError, match="tiny, small, full"):
        build_corpus(tmp_path, "huge", testmedia)
    with pytest.raises(FileNotFoundError, match="build-corpus"):
        load_corpus(tmp_path / "nothing")
