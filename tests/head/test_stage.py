"""HeadStage: frame sampling per profile, missing weights, and an end-to-end batch on real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.clips import Clip
from talkvid_fast.head.stage import HeadStage, sample_indices
from talkvid_fast.profile import load_profile
from talkvid_fast.stages._api import StageUnavailable
from tests.media import make_clip


def _clip(n: int, fps: float, times: np.ndarray | None = None, start_frame: int = 0) -> Clip:
    t = np.arange(n) / fps if times is None else times
    clip: Clip = make_clip("s-scene1", 64, 48, fps, t, "s.mp4", start_frame)
    return clip


def test_official_sampling_truncates_fps() -> None:
    clip = _clip(300, 29.97)  # 10.01 s
    idx = sample_indices(clip, "official")
    assert idx.tolist() == [29 * s for s in range(int(300 / 29))]  # int(fps) = 29: drifts, 10 frames
    assert sample_indices(_clip(20, 25.0), "official").size == 0  # under a second: no frame at all


def test_exact_sampling_follows_timestamps() -> None:
    clip = _clip(300, 29.97)
    idx = sample_indices(clip, "exact")
    assert len(idx) == 10
    assert np.all(np.abs(clip.frame_times[idx] - np.arange(10)) < 1 / 29.97)
    assert np.all(clip.frame_times[idx] <= np.arange(10) + 1e-6)
    # VFR: frames at irregular times, clip starting at 2.0 s in the source
    times = 2.0 + np.cumsum(np.r_[0, np.random.default_rng(0).uniform(0.02, 0.08, 149)])
    vfr = _clip(150, 20.0, times)
    idx = sample_indices(vfr, "exact")
    for k, i in enumerate(idx):
        t = vfr.start + k
        assert vfr.frame_times[i] <= t + 1e-6 and (i + 1 == 150 or vfr.frame_times[i + 1] > t)
    assert sample_indices(_clip(20, 25.0), "exact").tolist() == [0]


def test_profiles_build_the_stage() -> None:
    for name in ("paper", "official"):
        st = HeadStage(load_profile(name).section("head"))
        assert st.sampling == ("official" if name == "official" else "exact")
    with pytest.raises(ValueError, match="allowed"):
        HeadStage({"backend": "dlib"})


def test_missing_weights_raise_stage_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    with pytest.raises(StageUnavailable, match=r"talkvid_fast\.weights fetch facemesh"):
        HeadStage({"backend": "facemesh"}).setup()
    with pytest.raises(StageUnavailable, match=r"det_10g\.onnx"):
        HeadStage({"backend": "insightface"}).setup()


def _real_clip(path: Path) -> tuple[Clip, np.ndarray]:
    import av

    frames, times = [], []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
    t = np.asarray(times) - times[0]
    n, h, w, _ = np.shape(frames)
    fps = n / (t[-1] + (t[1] - t[0]))
    return make_clip(f"{path.stem}-scene1", w, h, fps, t, str(path)), np.stack(frames)


def test_stage_end_to_end_on_real_clips(testmedia: Path, facemesh_dir: Path) -> None:
    names = [
        "positives/retalking__face1.mp4",
        "negatives/dover__17734.mp4",
        "negatives/liveportrait__s13.mp4",
    ]
    st = HeadStage(load_profile("paper").section("head"))
    st.setup()
    batch = []
    for name in names:
        clip, frames = _real_clip(testmedia / name)
        (req,) = st.requests(clip)
        batch.append((clip, {req.name: torch.from_numpy(frames[req.indices])}))
    res = st.process(batch)
    face, landscape, dancer = res
    assert face.passed and face.failed_gate is None and face.scores["num_single_face"] == 6
    assert face.scores["avg_orientation"] > 80 and face.scores["avg_completeness"] == 100
    assert landscape.failed_gate == "no_face" and not landscape.passed
    assert dancer.failed_gate == "resolution_avg" and dancer.scores["avg_resolution"] < 50
    assert all(
        r.backend == "facemesh-torch-cpu-fp32" and "face_landmark.tflite@1055cb9d" in r.model for r in res
    )


def test_onnxruntime_runtime_matches_torch(
    testmedia: Path, facemesh_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runtime = onnxruntime runs the `engines build --models facemesh --export-only` files; scores as torch's."""
    from talkvid_fast.engines.__main__ import main as engines_main

    monkeypatch.setenv("TALKVID_FAST_ENGINES", str(tmp_path))
    params = load_profile("paper").section("head")
    with pytest.raises(StageUnavailable, match=r"--models blazeface_full_range .*--export-only"):
        HeadStage({**params, "runtime": "onnxruntime"}).setup()
    assert engines_main(["build", "--models", "facemesh", "--export-only"]) == 0
    torch_stage, ort_stage = HeadStage(params), HeadStage({**params, "runtime": "onnxruntime"})
    torch_stage.setup()
    ort_stage.setup()
    clip, frames = _real_clip(testmedia / "positives/retalking__face1.mp4")
    (req,) = torch_stage.requests(clip)
    batch = [(clip, {req.name: torch.from_numpy(frames[req.indices])})]
    (expected,), (got,) = torch_stage.process(batch), ort_stage.process(batch)
    assert got.backend == "facemesh-onnxruntime-cpu" and expected.backend == "facemesh-torch-cpu-fp32"
    assert got.passed == expected.passed and got.scores["face_counts"] == expected.scores["face_counts"]
    for key, value in expected.scores.items():
        if isinstance(value, float):  # scores on a 0..100 scale; landmarks agree to ~1e-3 px
            assert got.scores[key] == pytest.approx(value, abs=0.05), key
