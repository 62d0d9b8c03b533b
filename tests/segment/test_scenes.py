"""Scene detection: our single-decode feed gives scenedetect's own cut lists (Note [Scene parity])."""

from __future__ import annotations

import csv
from itertools import pairwise
from pathlib import Path

import pytest

from talkvid_fast.decode import PyAVDecoder
from talkvid_fast.segment import SceneCollector, downscale_factor, small_size
from tests.media import scene_frames, write_video

MULTISHOT = [
    "pyscenedetect__testvideo.mp4",
    "pyscenedetect__goldeneye-vfr-drop3.mp4",
    "pyscenedetect__issue-134-rotate.mp4",
]
DETECTORS = [("histogram", {"threshold": 0.085, "min_scene_len": 15}), ("content", {"threshold": 27.0})]


def ours(path: Path, kind: str, params: dict, with_times: bool = False):
    with PyAVDecoder(str(path)) as dec:
        collector = SceneCollector(kind, params)
        scan = dec.scan(small_size(dec.metadata.coded_width, dec.metadata.coded_height), collector)
    return (collector.scenes(), scan.times) if with_times else collector.scenes()


def scenedetects(path: Path, kind: str, params: dict) -> list[float]:
    """Cut times from scenedetect's own SceneManager, same backend family (PyAV) and detector."""
    from scenedetect import SceneManager, open_video

    from talkvid_fast.segment import make_detector

    video = open_video(str(path), backend="pyav")
    manager = SceneManager()
    manager.add_detector(make_detector(kind, params))
    manager.detect_scenes(video)
    return [s.get_seconds() for s, _ in manager.get_scene_list()[1:]]


def test_downscale_factor_is_scenedetects_integer_rule() -> None:
    assert [downscale_factor(w) for w in (200, 256, 511, 1280, 1920, 3840)] == [1, 1, 1, 5, 7, 15]
    assert small_size(1920, 1080) == (274, 154)
    assert small_size(3840, 2160) == (256, 144)


@pytest.mark.parametrize("name", MULTISHOT)
@pytest.mark.parametrize(("kind", "params"), DETECTORS)
def test_cut_lists_equal_scenedetect(testmedia: Path, name: str, kind: str, params: dict) -> None:
    path = testmedia / "multishot" / name
    scenes, times = ours(path, kind, params, with_times=True)
    theirs = scenedetects(path, kind, params)
    assert len(scenes) - 1 == len(theirs)
    # the same cuts: scenedetect reports a cut as its nominal-grid time, we as the decoded frame's time
    assert all(abs(times[a] - t) < 0.5 / 23.976 for (a, _), t in zip(scenes[1:], theirs, strict=True))
    assert scenes[0][0] == 0 and all(b == c for (_, b), (c, _) in pairwise(scenes))


def test_testvideo_against_published_scene_list(testmedia: Path) -> None:
    """testvideo.mp4's 3 shots are joined by fades; its published list (starts 0, 201, 382) is a fade list.
    ThresholdDetector finds both fades (and the opening fade-in from black), placing each cut within the
    fade (3-6 frames from the published frame); the default Histogram 0.085 also cuts inside every fade (and elsewhere), so each published
    start has a Histogram cut within a fade's length."""
    path = testmedia / "multishot" / "pyscenedetect__testvideo.mp4"
    with open(testmedia / "multishot" / "pyscenedetect__testvideo_scenes.csv", newline="") as f:
        published = [int(float(r["frame"])) for r in csv.DictReader(f) if r.get("frame")]
    assert published == [0, 201, 382]
    fades = [a for a, _ in ours(path, "threshold", {})]
    # [0, 15, 198, 376]: the video opens with a fade-in from black (cut at 15), then the two fades
    assert fades[0] == 0 and 0 < fades[1] <= 30 and len(fades) == 4
    assert all(abs(a - p) <= 6 for a, p in zip(fades[2:], published[1:], strict=True))
    histogram = [a for a, _ in ours(path, "histogram", {"threshold": 0.085, "min_scene_len": 15})]
    assert all(min(abs(c - p) for c in histogram) <= 12 for p in published)


def test_single_shot_source_is_one_scene(tmp_path: Path) -> None:
    path = write_video(tmp_path / "one.mp4", scene_frames([60]))
    assert ours(path, "histogram", {"threshold": 0.085, "min_scene_len": 15}) == [(0, 60)]


def test_synthetic_cuts_are_found_at_the_exact_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "three.mp4", scene_frames([40, 55, 30]))
    assert ours(path, "histogram", {"threshold": 0.085, "min_scene_len": 15}) == [
        (0, 40),
        (40, 95),
        (95, 125),
    ]


def test_unknown_detector_lists_allowed() -> None:
    with pytest.raises(ValueError, match="allowed: histogram, content"):
        SceneCollector("magic", {})
