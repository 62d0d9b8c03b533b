"""MotionStage end to end: CoTracker path with random weights (batching, labels), official path, real clips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from talkvid_fast.motion import cotracker, sampling
from talkvid_fast.motion.ratio_reference import (
    PaperParams,
    official_clip_ratio,
    paper_clip_score,
    paper_window_ratios,
)
from talkvid_fast.motion.stage import MotionStage
from talkvid_fast.stages import StageUnavailable

from . import synthetic
from .helpers import deliver, make_clip

TINY = {"model_size": [32, 48], "grid": 4, "iters": 1, "batch_windows": 3, "short_side": 256}


def tiny_model(kind: str) -> cotracker.CoTrackerThreeBase:
    torch.manual_seed(0)
    return cotracker.build(kind).eval()


def _model_input(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, T, 3, h, w) float: CoTracker's predictor convention (bilinear, align_corners=True)."""
    video = frames.permute(0, 3, 1, 2).float()
    return F.interpolate(video, size, mode="bilinear", align_corners=True)[None]


@torch.inference_mode()
def _paper_reference(model: torch.nn.Module, frames: torch.Tensor, params: dict[str, Any]) -> tuple[Any, Any]:
    """Note [Paper windows] written out: windows of 16 resampled frames every 8, each tracked alone, the
    queries scaled into the model size and the tracks back (as CoTracker's predictor does).
    Returns tracks (W, 16, K, 2) in px of `frames` and confidences (W, 16, K)."""
    h, w = frames.shape[1:3]
    mh, mw = params["model_size"]
    scale = torch.tensor([(mw - 1) / (w - 1), (mh - 1) / (h - 1)])
    pts = torch.from_numpy(sampling.paper_grid(h, w, 256, params["grid"]))
    queries = torch.cat([torch.zeros(len(pts), 1), pts * scale], dim=1)[None]
    tracks, confs = [], []
    for s in range(0, frames.shape[0] - 16 + 1, 8):
        xy, _, conf = model(_model_input(frames[s : s + 16], (mh, mw)), queries)
        tracks.append((xy[0] / scale).numpy())
        confs.append(conf[0].numpy())
    return np.stack(tracks), np.stack(confs)


def test_paper_windows_batched_across_clips_equal_one_by_one() -> None:
    """Three windows of two clips in one model call track what each window tracked alone tracks (to float32
    rounding: batching changes the summation order), and the scores are Note [Paper ratio] of those tracks
    (NumPy reference). The random weights' confidences lie near 0.405, so min_conf 0.405 makes the ratios
    neither 0 nor 1: a wrong window, query scaling or batch bookkeeping shows."""
    params = {**TINY, "min_conf": 0.405}
    model = tiny_model("online")
    stage = MotionStage.with_model(params, model)
    assert stage.label == "cotracker3-online-torch-cpu-fp32"
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    ratios_of = stage._window_ratios

    def spy(tracks: torch.Tensor, conf: torch.Tensor, h: int, w: int, *limits: float) -> np.ndarray:
        seen.append((tracks.numpy().copy(), conf.numpy().copy()))
        return ratios_of(tracks, conf, h, w, *limits)

    stage._window_ratios = spy  # type: ignore[method-assign,assignment]
    clips = []
    for name, frames, fps in (
        ("a", synthetic.drift(24, 256, 320), 25.0),
        ("b", synthetic.still(20, 256, 320), 25.0),
    ):
        clip = make_clip(frames, fps, clip_id=f"{name}-scene1")
        (req,) = stage.requests(clip)
        clips.append((clip, {req.name: deliver(frames, req)}))
    together = stage.process(clips)  # 2 + 1 windows in one call of 3
    assert len(seen) == 2
    for t, (_, views), (tracks, conf) in zip(together, clips, seen, strict=True):
        want_tracks, want_conf = _paper_reference(model, next(iter(views.values())), params)
        np.testing.assert_allclose(tracks, want_tracks, rtol=0, atol=1e-3)  # px
        np.testing.assert_allclose(conf, want_conf, rtol=0, atol=1e-5)
        want = paper_clip_score(
            paper_window_ratios(tracks, conf, 256, 320, 0.405, 20.0), PaperParams(min_conf=0.405)
        )
        assert t.error is None and t.model == "random" and t.backend == "cotracker3-online-torch-cpu-fp32"
        assert t.scores["stability_windows"] == len(want_tracks) == (2 if t is together[0] else 1)
        assert (
            t.scores["stability_ratio"] == want["ratio"]
            and t.scores["stability_ratio_min"] == want["ratio_min"]
        )
    assert any(0 < t.scores["stability_ratio"] < 1 for t in together)  # the check above can discriminate


def test_official_segments_with_random_weights() -> None:
    """One official segment scored as the official ratio of the model's visibilities on those frames
    (Note [Official ratio], NumPy reference). The random weights give visibilities in two groups, 0.47-0.59
    and 0.63-0.68: vis_threshold 0.6 lies in the gap, so a wrong frame, grid or threshold shows."""
    params = {**TINY, "method": "official", "official_grid": 5, "vis_threshold": 0.6}
    model = tiny_model("offline")
    stage = MotionStage.with_model(params, model)
    frames = synthetic.drift(60, height=128, width=160)
    clip = make_clip(frames, 10.0)  # 6 s at 10 fps: one segment, every 5th frame after trimming 2 + 2
    (req,) = stage.requests(clip)
    assert req.size == (32, 40) and req.antialias
    np.testing.assert_array_equal(req.indices, np.arange(2, 58, 5))
    delivered = deliver(frames, req)
    (res,) = stage.process([(clip, {req.name: delivered})])
    assert res.error is None and res.gates == {} and res.passed
    assert res.scores["cotracker_segments"] == 1
    size = (32, 48)  # TINY's model_size
    grid = torch.from_numpy(sampling.official_grid(5, size))
    queries = torch.cat([torch.zeros(len(grid), 1), grid], dim=1)[None]
    with torch.inference_mode():
        _, vis, _ = model(_model_input(delivered, size), queries)
    want = official_clip_ratio([vis[0].numpy()], 0.6)
    assert np.float32(1 / 12) < want < 1  # neither frame 0 alone (float32 1/12) nor every point
    assert res.scores["cotracker_ratio"] == want


def test_official_segment_layout() -> None:
    assert sampling.official_segments(5.0) == [(0.0, 5.0)]
    assert sampling.official_segments(10.0) == [(0.0, 6.0), (4.0, 10.0)]
    assert sampling.official_segments(20.0) == [(0.0, 6.0), (7.0, 13.0), (14.0, 20.0)]
    plan = sampling.plan_segments(600, 60.0, 10.0)  # 60 fps capped to 30: every 2nd frame, trim 6
    assert plan.indices[0] == 12 and np.all(np.diff(plan.indices[: plan.bounds[1]]) == 30)
    assert len(plan.bounds) == 3


def test_paper_resampling_is_vfr_exact() -> None:
    frames = np.zeros((5, 8, 8, 3), np.uint8)
    clip = make_clip(frames, 10.0)
    clip = type(clip)(**{**clip.__dict__, "frame_times": np.array([0.0, 0.1, 0.3, 0.35, 0.45]), "end": 0.5})
    # times 0, .04, ..., .48 -> frame on screen at each
    np.testing.assert_array_equal(
        sampling.resample_indices(clip, 25.0), [0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 3, 3, 4]
    )


@pytest.mark.parametrize(
    ("name", "passes"), [("positives/retalking__face1.mp4", True), ("negatives/liveportrait__s13.mp4", False)]
)
def test_klt_on_real_clips(testmedia: Path, name: str, passes: bool) -> None:
    from .media import load_view, probe_clip

    stage = MotionStage({"backend": "klt"})
    stage.setup()
    clip = probe_clip(testmedia / name)
    (req,) = stage.requests(clip)
    (res,) = stage.process([(clip, {req.name: load_view(testmedia / name, req)})])
    assert res.error is None and res.backend == "klt"
    assert res.passed is passes, res.scores


def test_onnxruntime_runtime_matches_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """runtime = onnxruntime: the paper window graph exported by `engines build` (random weights, a spec
    with this test's small window shape) gives torch's ratios; the record names the engine."""
    import shutil

    from talkvid_fast.engines.__main__ import main as engines_main
    from talkvid_fast.engines._specs import spec_dir

    specs = tmp_path / "specs"
    shutil.copytree(spec_dir(), specs)
    text = (specs / "cotracker3.toml").read_text()
    text = text.replace("shape = [16, 3, 384, 512]", "shape = [16, 3, 32, 48]").replace(
        "shape = [256, 3]", "shape = [16, 3]"
    )
    (specs / "cotracker3.toml").write_text(text)
    monkeypatch.setenv("TALKVID_FAST_ENGINE_SPECS", str(specs))
    monkeypatch.setenv("TALKVID_FAST_ENGINES", str(tmp_path / "engines"))
    ort = {**TINY, "runtime": "onnxruntime"}
    with pytest.raises(StageUnavailable, match=r"--models cotracker3_paper --weights random --export-only"):
        MotionStage.with_model(ort, tiny_model("online"))
    argv = ["build", "--models", "cotracker3_paper", "--weights", "random", "--export-only"]
    assert engines_main(argv) == 0
    by_torch, by_ort = (
        MotionStage.with_model(TINY, tiny_model("online")),
        MotionStage.with_model(ort, tiny_model("online")),
    )
    frames = synthetic.drift(24, 256, 320)
    clip = make_clip(frames, 25.0)
    (req,) = by_torch.requests(clip)
    batch = [(clip, {req.name: deliver(frames, req)})]
    (expected,), (got,) = by_torch.process(batch), by_ort.process(batch)
    assert got.error is None and got.backend == "cotracker3-online-onnxruntime-cpu"
    assert by_ort.engines["cotracker3_paper"].fallback_calls == 0  # both windows ran in ONNX Runtime
    assert got.scores["stability_windows"] == expected.scores["stability_windows"] == 2
    assert got.scores["stability_ratio"] == pytest.approx(expected.scores["stability_ratio"], abs=1 / 256)


def test_records_say_which_engine_ran_each_clip() -> None:
    """A short clip's window (10 frames) does not fit the window-16 graph and runs on the torch fallback: its
    record must say torch and count the fallback, the full clip's record the picked engine (was: both said the
    picked engine and `fallback_calls` never reached a record). The picked engine is a stand-in (torch under
    a TensorRT name, so no export is needed) whose graph is TINY's window shape."""
    import dataclasses

    from talkvid_fast.engines import ModelEngine, RuntimeChoice
    from talkvid_fast.engines._specs import BatchRange, GraphSpec, InputSpec
    from talkvid_fast.pipeline._records import add_stage_result

    stage = MotionStage.with_model(TINY, tiny_model("online"))
    torch_engine = stage.engines["cotracker3_paper"]
    graph = GraphSpec(
        "cotracker3_paper",
        "cotracker3",
        "scaled_online.pth",
        (
            InputSpec("video", (16, 3, 32, 48), BatchRange(1, 8, 32)),
            InputSpec("queries", (16, 3), BatchRange(1, 8, 32)),
        ),
        ("coords", "vis", "conf"),
    )
    choice = RuntimeChoice("torch", "tensorrt-10.3.0-fp32", "cpu", "fp32", "cotracker3_paper")
    stand_in = ModelEngine(choice, torch_engine.torch.module, torch.device("cpu"), graph)
    stand_in.choice = dataclasses.replace(choice, kind="tensorrt")  # fits() checks the graph's item shapes
    stage.engines["cotracker3_paper"] = stand_in
    batch = []
    for name, n in (("full", 24), ("short", 10)):  # 2 windows of 16 / 1 window of 10 frames at 25 fps
        frames = synthetic.drift(n, 256, 320)
        clip = make_clip(frames, 25.0, clip_id=f"{name}-scene1")
        (req,) = stage.requests(clip)
        batch.append((clip, {req.name: deliver(frames, req)}))
    full, short = stage.process(batch)
    assert full.error is None and short.error is None
    assert full.backend == full.scores["tracker"] == "cotracker3-online-tensorrt-10.3.0-fp32"
    assert full.fallback_calls == 0
    assert short.backend == short.scores["tracker"] == "cotracker3-online-torch-cpu-fp32"
    assert short.fallback_calls == 1 and stand_in.fallback_calls == 1 and stand_in.calls == 2
    rec: dict = {"stages": {}, "errors": {}, "gates": {}, "passed": True, "first_failed_gate": None}
    add_stage_result(rec, "motion", short, 0.1)
    assert rec["stages"]["motion"]["fallback_calls"] == 1
    assert rec["stages"]["motion"]["backend"] == "cotracker3-online-torch-cpu-fp32"
