"""QualityStage end to end on real test media (random weights), missing weights, params, requests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.clips import Clip
from talkvid_fast.quality.model import DoverConfig, build_dover
from talkvid_fast.quality.reference import fragments_ref
from talkvid_fast.quality.sampling import MEAN, STD, make_plan, resize_aesthetic
from talkvid_fast.quality.scores import clip_scores
from talkvid_fast.quality.stage import AES_VIEW, TECH_VIEW, QualityStage
from talkvid_fast.stages._api import FrameRequest, StageUnavailable
from talkvid_fast.weights import WeightsMissing
from tests.conftest import decode_rgb
from tests.media import make_clip

TINY = {"weights": "random", "architecture": "tiny"}


def _clip(path: Path, frames: np.ndarray, fps: float, scene: int = 1) -> Clip:
    n, h, w, _ = frames.shape
    clip: Clip = make_clip(f"{path.stem}-scene{scene}", w, h, fps, np.arange(n) / fps, str(path), scene=scene)
    return clip


def _deliver(frames: np.ndarray, requests: list[FrameRequest]) -> dict[str, torch.Tensor]:
    """What the pipeline hands the stage: frames at the requested indices and size."""
    views = {}
    for r in requests:
        x = torch.from_numpy(frames[r.indices])
        if r.transform is not None:
            x = torch.stack([r.transform(f, k) for k, f in enumerate(x)])
        elif r.size is not None:
            assert r.antialias
            x = resize_aesthetic(x)
        views[r.name] = x
    return views


@pytest.fixture(scope="module")
def media(testmedia: Path) -> list[tuple[Clip, np.ndarray]]:
    out = []
    for name, fps in (
        ("positives/liveportrait__d18.mp4", 30.0),
        ("negatives/dover__FEQ-gdkTN4Q_000008_000018.mp4", 10.0),
    ):
        frames = decode_rgb(testmedia / name)
        out.append((_clip(testmedia / name, frames, fps), frames))
    return out


def test_missing_weights_raise_with_fetch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    stage = QualityStage({})
    with pytest.raises(WeightsMissing, match=r"python -m talkvid_fast\.weights fetch dover") as info:
        stage.setup()
    assert isinstance(info.value, StageUnavailable)
    with pytest.raises(WeightsMissing):
        QualityStage({"weights": "DOVER_plus_plus.pth"}).setup()


@pytest.mark.parametrize(
    "params",
    [
        {"weights": "dover.pt"},
        {"architecture": "tiny"},
        {"batch": 3},
        {"batch_clips": 0},
        {"precision": "int8"},
        {"runtime": "tflite"},
    ],
)
def test_bad_params_are_rejected(params: dict) -> None:
    with pytest.raises(ValueError, match=r"allowed|only for tests|>= 1"):
        QualityStage(params).setup()


def test_requests(media: list[tuple[Clip, np.ndarray]]) -> None:
    clip, _ = media[0]
    stage = QualityStage(TINY)
    reqs = stage.requests(clip)
    assert [r.name for r in reqs] == [TECH_VIEW, AES_VIEW]
    tech, aes = reqs
    assert tech.indices.shape == (96,) and tech.size == (224, 224) and tech.transform is not None
    assert aes.indices.shape == (32,) and aes.size == (224, 224) and aes.antialias
    for r in reqs:
        assert r.indices.dtype == np.int64 and r.indices.min() >= 0 and r.indices.max() < clip.num_frames
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(reqs, stage.requests(clip), strict=True))


def test_end_to_end_random_tiny(media: list[tuple[Clip, np.ndarray]]) -> None:
    stage = QualityStage({**TINY, "batch_clips": 2})
    stage.setup()
    batch = [(clip, _deliver(frames, stage.requests(clip))) for clip, frames in media]
    results = stage.process(batch)
    assert len(results) == 2
    for r in results:
        assert r.error is None, r.error
        assert r.backend == "dover-torch-cpu-fp32" and r.model == "random-tiny"
        assert set(r.scores) == {"dover_technical_raw", "dover_aesthetic_raw", "dover_fused", "dover_score"}
        assert all(math.isfinite(v) for v in r.scores.values())
        assert r.passed == (r.scores["dover_score"] >= 7.0) and r.gates == {"dover_score": r.passed}
        assert r.failed_gate == (None if r.passed else "dover_score")
    # a broken clip is recorded on that clip; the batch goes on and batching does not change scores
    broken = (media[0][0], {AES_VIEW: batch[0][1][AES_VIEW]})
    again = QualityStage({**TINY, "batch_clips": 1})
    again.setup()
    redo = again.process([broken, batch[1]])
    assert redo[0].error is not None and "dover_technical" in redo[0].error and not redo[0].scores
    for key, value in results[1].scores.items():
        assert redo[1].scores[key] == pytest.approx(value, abs=1e-6)


@pytest.mark.slow
def test_end_to_end_random_full_dover(media: list[tuple[Clip, np.ndarray]]) -> None:
    """The full-size model through the stage: the engine is fed the spec's views (NumPy fragment reference
    on the plan's frames; the aesthetic frames normalised), and the scores are those of the same random
    DOVER (seed 0) run directly on them: technical = mean over the 3 clips, aesthetic as is."""
    stage = QualityStage({"weights": "random"})
    stage.setup()
    assert stage.engine is not None
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    engine = stage.engine

    def spy(tech: torch.Tensor, aes: torch.Tensor) -> tuple[torch.Tensor, ...]:
        seen.append((tech.clone(), aes.clone()))
        return engine(tech, aes)

    stage.engine = spy  # type: ignore[assignment]
    clip, frames = media[0]
    views = _deliver(frames, stage.requests(clip))
    (r,) = stage.process([(clip, views)])
    assert r.error is None and r.model == "random" and len(seen) == 1
    plan = make_plan(clip.clip_id, clip.num_frames, clip.source.height, clip.source.width)
    want_tech = fragments_ref(frames[plan.tech_indices], plan.top, plan.left, 32, MEAN, STD)
    tech, aes = seen[0]
    assert np.array_equal(tech.numpy().reshape(want_tech.shape), want_tech)
    mean, std = np.asarray(MEAN, np.float32), np.asarray(STD, np.float32)
    want_aes = (views[AES_VIEW].numpy().astype(np.float32) - mean) / std
    assert np.array_equal(aes[0].numpy(), want_aes.transpose(3, 0, 1, 2))
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(0)
        t_raw, a_raw = build_dover(None, DoverConfig())(tech, aes)
    want = clip_scores(float(t_raw.double().mean()), float(a_raw.double()[0]))
    assert want["dover_technical_raw"] != want["dover_aesthetic_raw"]  # the branches are told apart
    for key, value in want.items():
        assert r.scores[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key


def test_onnxruntime_runtime_matches_torch(
    media: list[tuple[Clip, np.ndarray]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runtime = onnxruntime scores from the `engines build --weights tiny --export-only` file, as torch does."""
    from talkvid_fast.engines.__main__ import main as engines_main

    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    with pytest.raises(StageUnavailable, match=r"--models dover --weights tiny --export-only"):
        QualityStage({**TINY, "runtime": "onnxruntime"}).setup()
    assert engines_main(["build", "--models", "dover", "--weights", "tiny", "--export-only"]) == 0
    torch_stage, ort_stage = QualityStage(TINY), QualityStage({**TINY, "runtime": "onnxruntime"})
    torch_stage.setup()
    ort_stage.setup()
    batch = [(clip, _deliver(frames, torch_stage.requests(clip))) for clip, frames in media]
    expected, got = torch_stage.process(batch), ort_stage.process(batch)
    for e, g in zip(expected, got, strict=True):
        assert (
            g.error is None and g.backend == "dover-onnxruntime-cpu" and e.backend == "dover-torch-cpu-fp32"
        )
        for key in ("dover_technical_raw", "dover_aesthetic_raw", "dover_fused"):
            assert g.scores[key] == pytest.approx(e.scores[key], abs=1e-4)
        assert abs(g.scores["dover_score"] - e.scores["dover_score"]) <= 0.01  # rounded to 2 decimals
