"""The `official` head filter against TalkVid's own video_head_filter.py and pic_head_base_fun.py.

The oracle is `VideoFaceProcessor.process_video` (with its `evaluate_faces`) and the five score functions
of pic_head_base_fun.py, imported from ../shared/upstream/talkvid, with the thresholds of its
config_0_0.yaml. Stubbed, as narrowly as the test allows:
- the module's `cv2` (only its VideoCapture): a capture of the clip that reports the container's average
  rate as CAP_PROP_FPS and the clip's frame count as CAP_PROP_FRAME_COUNT, and records each seek;
  the frame it returns is a blank image of the clip's size (only its shape is read);
- `self.app` (InsightFace's FaceAnalysis, whose models are not here): it returns scripted faces,
  float32 `kps` / `pose` / `bbox` as InsightFace gives them. Our stage gets the same faces from a stand-in
  backend, so the test compares the sampling, the scores, the gates and the verdict, not the detector.
`VideoFaceProcessor.__init__` is not run (it builds FaceAnalysis and reads the config's input list).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
import torch
import yaml

from talkvid_fast.head._facemesh_backend import Faces
from talkvid_fast.head.scores_reference import GATES
from talkvid_fast.head.stage import HeadStage
from talkvid_fast.profile import load_profile
from tests.media import make_clip
from tests.official_media import QUICK, OfficialClip, every_video, official_clips
from tests.upstream import load_file, patched_modules, upstream_dir

FPS = 25  #: frame rate of the scripted clips
HEAD = ("talkvid", "data_pipeline", "3_head_detail_filtering", "src")


class _Face(SimpleNamespace):
    kps: np.ndarray
    pose: np.ndarray
    bbox: np.ndarray


def load_head_filter() -> tuple[Any, Any, dict[str, float]]:
    """(video_head_filter module, pic_head_base_fun module, the config's thresholds)."""
    root = upstream_dir(*HEAD)
    had_int = "int" in np.__dict__
    with patched_modules({}, root):
        vhf = load_file(root / "video_head_filter.py", "_talkvid_video_head_filter")
        base = vhf.calculate_head_movement.__globals__
    if not had_int:  # pic_head_base_fun monkey-patches np.int = np.int32 on numpy 2: undo it for other tests
        np.__dict__.pop("int", None)
    config = yaml.safe_load((root.parents[1] / "config" / "config_0_0.yaml").read_text())
    return vhf, SimpleNamespace(**base), {k: float(v) for k, v in config["head_filter"]["thresholds"].items()}


def run_process_video(
    vhf: Any, thresholds: dict[str, float], o: OfficialClip, faces_at: Any
) -> tuple[list[int], Any]:
    """process_video on clip `o`: (the frame indices it read, its result). faces_at(index) -> list of faces."""
    seeks: list[int] = []
    h, w = o.clip.source.height, o.clip.source.width

    class Capture:
        def __init__(self, path: str) -> None:
            pass

        def get(self, prop: int) -> float:
            return {cv2.CAP_PROP_FPS: o.avg_fps, cv2.CAP_PROP_FRAME_COUNT: float(o.clip.num_frames)}[prop]

        def set(self, prop: int, value: float) -> None:
            assert prop == cv2.CAP_PROP_POS_FRAMES
            seeks.append(int(value))

        def read(self) -> tuple[bool, np.ndarray]:
            return True, np.broadcast_to(np.zeros(1, np.uint8), (h, w, 3))

        def isOpened(self) -> bool:
            return True

        def release(self) -> None:
            pass

    fake = SimpleNamespace(
        **{k: getattr(cv2, k) for k in dir(cv2) if k.startswith("CAP_PROP")}, VideoCapture=Capture
    )
    saved, vhf.cv2 = vhf.cv2, fake
    try:
        proc = SimpleNamespace(
            app=SimpleNamespace(get=lambda frame: faces_at(seeks[-1])),
            score_thresholds=thresholds,
            processing_stats={"processing_times": {}, "video_durations": {}},
        )
        proc.evaluate_faces = lambda **kw: vhf.VideoFaceProcessor.evaluate_faces(proc, **kw)
        result = vhf.VideoFaceProcessor.process_video(proc, {"video-path": "clip.mp4", "id": o.clip.clip_id})
    finally:
        vhf.cv2 = saved
    return seeks, result


def _check_sampling(items: list[OfficialClip]) -> None:
    vhf, _, thresholds = load_head_filter()
    stage = HeadStage({"backend": "insightface", "sampling": "official"})
    face = _Face(kps=np.zeros((5, 2), np.float32), pose=np.zeros(3, np.float32), bbox=np.ones(4, np.float32))
    for o in items:
        if int(o.avg_fps) < 1:
            continue  # process_video divides by int(fps): it raises (and its handler crashes) on these
        seeks, _ = run_process_video(vhf, thresholds, o, lambda i: [face])
        (req,) = stage.requests(o.clip)
        assert req.indices.tolist() == seeks, (o.clip.clip_id, o.avg_fps)


def test_official_sampling_equals_video_head_filter_quick(testmedia: Path) -> None:
    _check_sampling(official_clips(testmedia, QUICK))


@pytest.mark.slow
def test_official_sampling_equals_video_head_filter_every_clip(testmedia: Path) -> None:
    _check_sampling(official_clips(testmedia, every_video(testmedia)))


def _faces(rng: np.random.Generator, n: int, w: int, h: int, steady: bool) -> list[_Face]:
    """n faces as InsightFace returns them (float32); `steady`: a large, frontal, still face."""
    out = []
    for _ in range(n):
        centre = rng.uniform([0.3 * w, 0.3 * h], [0.7 * w, 0.7 * h])
        spread = 0.002 if steady else 0.2
        kps = centre + rng.normal(0, spread * min(w, h), (5, 2))
        pose = rng.normal(0, 3 if steady else 30, 3)
        half = rng.uniform(0.1, 0.3, 2) * [w, h] if steady else rng.uniform(1, 400, 2)
        box = np.r_[centre - half, centre + half]
        out.append(
            _Face(kps=kps.astype(np.float32), pose=pose.astype(np.float32), bbox=box.astype(np.float32))
        )
    return out


def score_cases(seed: int = 0, n: int = 48) -> list[tuple[str, int, int, list[list[_Face]]]]:
    """(name, W, H, faces of each sampled frame): random clips and the edge cases."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        w, h = int(rng.integers(64, 1920)), int(rng.integers(64, 1080))
        s = int(rng.integers(1, 12))
        steady = i % 2 == 0
        counts = rng.choice([1] * 12 + [0, 2], size=s) if steady else rng.choice([0, 1, 1, 1, 1, 2], size=s)
        frames = [_faces(rng, int(c), w, h, steady) for c in counts]
        if i % 5 == 1 and any(len(f) == 1 for f in frames):  # keypoints outside the frame, and on its edges
            f = next(f for f in frames if len(f) == 1)[0]
            f.kps[0] = (w, h / 2)  # x == W: outside
            f.kps[3] = (-0.5, 10.0)  # outside
            f.kps[2] = (0.0, 0.0)  # the origin: inside
        cases.append((f"random{i}", w, h, frames))
    w, h = 640, 360
    cases.append(("no_face", w, h, [[] for _ in range(6)]))
    cases.append(("two_faces", w, h, [_faces(rng, 2, w, h, True) for _ in range(6)]))
    cases.append(("two_faces_once", w, h, [_faces(rng, 2 if k == 3 else 1, w, h, True) for k in range(6)]))
    cases.append(("one_sample", w, h, [_faces(rng, 1, w, h, True)]))
    cases.append(("no_sample", w, h, []))
    outside = [_faces(rng, 1, w, h, True) for _ in range(5)]
    outside[2][0].kps[:, 1] += h  # the whole face below the frame
    cases.append(("face_below_frame", w, h, outside))
    return cases


class _Backend:
    """Stands in for the face model: per sampled frame, the scripted faces (as float64 Faces)."""

    name = model = "scripted"

    def __init__(self, frames: list[list[_Face]]) -> None:
        self.frames = frames

    def analyze(self, clips: list[torch.Tensor]) -> list[list[Faces]]:
        (views,) = clips
        assert len(views) == len(self.frames)
        out = []
        for faces in self.frames:
            f = len(faces)
            out.append(
                Faces(
                    box=np.array([x.bbox for x in faces], np.float64).reshape(f, 4),
                    kps=np.array([x.kps for x in faces], np.float64).reshape(f, 5, 2),
                    pose=np.array([x.pose for x in faces], np.float64).reshape(f, 3),
                    score=np.ones(f),
                    presence=np.ones(f),
                    landmarks=np.zeros((f, 468, 3)),
                )
            )
        return [out]


@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_head_scores_and_verdicts_equal_pic_head_base_fun(impl: str) -> None:
    """Scores, worst-pair / worst-face ids and the verdict, clip by clip.

    Tolerance: 1e-6 x (100 + |score|). The official code computes movement, rotation and resolution in
    float32 (InsightFace's arrays) and ours in float64 from the same float32 values. Every score is
    100 - x, or a multiple of x, with |x| <= 100 + |score|, and float32 rounds x to a relative 6e-8 per
    operation over at most a dozen chained operations: below 1e-6 of |x| (measured: 1.7e-7). The verdicts
    must agree wherever every score is further than that from its threshold (see
    test_official_thresholds_decide_in_float64 for the ones closer).
    """
    vhf, _, thresholds = load_head_filter()
    profile = load_profile("official").section("head")
    stage = HeadStage({**profile, "scores": impl})
    names = {score: gate for gate, score, _ in GATES}
    assert {names[k]: v for k, v in thresholds.items()} == profile[
        "thresholds"
    ]  # the profile's thresholds are the config's
    checked = passed = 0
    for name, w, h, frames in score_cases():
        fps = FPS
        clip = make_clip(f"{name}-scene1", w, h, fps, np.arange(fps * len(frames) + 3) / fps)
        o = OfficialClip(clip, float(fps), "")
        seeks, official = run_process_video(vhf, thresholds, o, lambda i, fr=frames: fr[i // FPS])
        (req,) = stage.requests(clip)
        assert req.indices.tolist() == seeks
        stage.backend = _Backend(frames)
        view = torch.zeros(1, 1, 1, 3, dtype=torch.uint8).expand(len(frames), h, w, 3)
        (ours,) = stage.process([(clip, {"head": view})])
        if official["evaluation"] is None:  # no sampled frame with exactly one face
            assert not ours.passed and ours.failed_gate == "no_face", name
            continue
        scores, ok = official["evaluation"]["scores"], official["evaluation"]["passed"]
        for key, value in scores.items():
            if key.endswith("_id"):
                assert ours.scores[key] == value, (name, key)
            else:
                tol = 1e-6 * (100 + abs(float(value)))
                assert abs(ours.scores[key] - float(value)) <= tol, (name, key, ours.scores[key], value)
        if all(abs(float(scores[k]) - t) > 1e-6 * (100 + abs(t)) for k, t in thresholds.items()):
            assert ours.passed == ok, name
        checked += 1
        passed += ok
    assert checked >= 40 and passed >= 5  # the cases reach both verdicts


@pytest.mark.parametrize("impl", ["reference", "numba"])
@pytest.mark.parametrize("direction", ["official_fails", "official_passes"])
def test_official_thresholds_decide_in_float64(direction: str, impl: str) -> None:
    """docs/profiles.md (float semantics): `official` gates the score computed in float64 from the face
    model's numbers, not the official code's float32 arithmetic. Two frames of a still, frontal, large face
    whose keypoints move by about 0.2 x the frame side: avg_movement sits at the 80 threshold, and the
    seeded search finds movements on which the official float32 result (79.9999997 / 80.0000012) and the
    exact one (from Fractions of the same float32 keypoints) fall on opposite sides. Ours must be the
    exact value to float64 rounding and decide like it."""
    from fractions import Fraction

    vhf, _, thresholds = load_head_filter()
    stage = HeadStage({**load_profile("official").section("head"), "scores": impl})
    rng = np.random.default_rng(0)
    side = 720
    for _ in range(2000):
        a = rng.uniform(200, 400, (5, 2)).astype(np.float32)
        d = rng.uniform(100, 188, (5, 2))
        b = (a + d * (0.2 * side * 10 / d.sum())).astype(np.float32)
        moved = sum(
            Fraction(float(y)) - Fraction(float(x)) for x, y in zip(a.ravel(), b.ravel(), strict=True)
        )
        exact = 100 - 100 * moved / 10 / side
        frames = [
            [_Face(kps=k, pose=np.zeros(3, np.float32), bbox=np.array([100, 100, 600, 600], np.float32))]
            for k in (a, b)
        ]
        clip = make_clip("f-scene1", side, side, FPS, np.arange(2 * FPS) / FPS)
        _, official = run_process_video(
            vhf, thresholds, OfficialClip(clip, float(FPS), ""), lambda i, f=frames: f[i // FPS]
        )
        theirs = official["evaluation"]["scores"]["avg_movement"]
        if (theirs >= 80) == (direction == "official_passes") and (exact >= 80) != (theirs >= 80):
            break
    else:
        pytest.fail("no movement on the float32 boundary found")
    stage.backend = _Backend(frames)
    (ours,) = stage.process(
        [(clip, {"head": torch.zeros(1, 1, 1, 3, dtype=torch.uint8).expand(2, side, side, 3)})]
    )
    assert abs(theirs - 80) < 1e-5 and theirs != float(exact)
    assert ours.scores["avg_movement"] == pytest.approx(float(exact), abs=1e-12)
    assert ours.gates["movement_avg"] == (exact >= 80) != official["evaluation"]["passed"]
    assert ours.passed == (exact >= 80)  # every other gate passes on this face
