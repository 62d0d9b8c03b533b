"""Stage 1's per-frame feature off the frame (Note [Device scan]): the NumPy reference against cv2 and
scenedetect themselves, the C++ twin of kernels/scan_histogram.cuh against the reference, the batching, and
the NVDEC scan's cut lists (stand-in PyNvVideoCodec, so the C++ twin runs) against scenedetect's own."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from talkvid_fast.decode._scan_features import ScanHistograms
from talkvid_fast.native import native, yuv420_to_rgb
from talkvid_fast.reference.color import yuv420_to_rgb as reference_rgb
from talkvid_fast.reference.scan_histogram import luma_counts, luma_u8, normalize, scan_histogram
from tests.conftest import DEVICES
from tests.decode.test_nvdec_path import fake_nvc  # noqa: F401  (fixture)


def _planes(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ch, cw = (h + 1) // 2, (w + 1) // 2
    # smooth planes (as in video) plus noise, so the histogram has structure and the resize matters
    yy = np.linspace(0, 255, w)[None, :] * 0.6 + np.linspace(0, 80, h)[:, None]
    y = np.clip(yy + rng.normal(0, 12, (h, w)), 0, 255).astype(np.uint8)
    u = rng.integers(60, 200, (ch, cw), dtype=np.uint8)
    v = rng.integers(60, 200, (ch, cw), dtype=np.uint8)
    return y, u, v


def test_luma_is_cv2s_bgr2yuv() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    rgb[0, :8] = [
        [0, 0, 0],
        [255, 255, 255],
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [1, 2, 3],
        [254, 1, 128],
        [7, 250, 9],
    ]
    want = cv2.split(cv2.cvtColor(np.ascontiguousarray(rgb[..., ::-1]), cv2.COLOR_BGR2YUV))[0]
    np.testing.assert_array_equal(luma_u8(rgb), want)


def test_reference_feature_is_scenedetects() -> None:
    """On the same small frame, the reference's normalised counts are HistogramDetector's own feature."""
    from scenedetect.detectors import HistogramDetector

    y, u, v = _planes(90, 160, 1)
    rgb = reference_rgb(y, u, v, (45, 80), 601, False)
    want = HistogramDetector.calculate_histogram(np.ascontiguousarray(rgb[..., ::-1]), bins=256)
    got = normalize(scan_histogram(y, u, v, (45, 80), 601, False))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert got.dtype == np.float32 and normalize(np.zeros(256, np.int64)).sum() == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("h", "w", "sh", "sw"), [(144, 256, 144, 256), (360, 640, 144, 256), (181, 333, 60, 111)]
)
@pytest.mark.parametrize(("matrix", "full_range"), [(601, False), (709, True)])
def test_op_matches_reference(
    device: str, h: int, w: int, sh: int, sw: int, matrix: int, full_range: bool
) -> None:
    y, u, v = _planes(h, w, h + w)
    uv = np.stack([u, v], -1)
    counts = torch.full((3, 256), -1, dtype=torch.int32, device=device)
    stream = torch.cuda.current_stream().cuda_stream if device == "cuda" else 0
    ty, tuv = torch.from_numpy(y).to(device), torch.from_numpy(uv).to(device)
    native().nv12_scan_histogram(ty, tuv, counts, 1, sh, sw, matrix, full_range, stream)
    got = counts.cpu().numpy()
    assert (got[[0, 2]] == -1).all() and got[1].sum() == sh * sw  # only the slot's row, every pixel once
    # the op is the colour op's per-pixel RGB, then luma and counts: exactly, on the same device
    small = yuv420_to_rgb(ty, uv=tuv, size=(sh, sw), matrix=matrix, full_range=full_range).cpu().numpy()
    np.testing.assert_array_equal(got[1], luma_counts(luma_u8(small)))
    # the float32 twin against the float64 reference: a level's rounding moves a few pixels by one bin
    ref = scan_histogram(y, u, v, (sh, sw), matrix, full_range)
    assert np.abs(got[1] - ref).sum() <= 0.01 * sh * sw, np.abs(got[1] - ref).sum()


def test_op_rejects_bad_arguments() -> None:
    y, uv = torch.zeros((8, 8), dtype=torch.uint8), torch.zeros((4, 4, 2), dtype=torch.uint8)
    counts = torch.zeros((2, 256), dtype=torch.int32)
    with pytest.raises(ValueError, match="slot 2 outside counts' 2 rows"):
        native().nv12_scan_histogram(y, uv, counts, 2, 4, 4)
    with pytest.raises(ValueError, match=r"counts must be \(N, 256\)"):
        native().nv12_scan_histogram(y, uv, torch.zeros((2, 128), dtype=torch.int32), 0, 4, 4)
    with pytest.raises(ValueError, match=r"uv must be \(ceil\(H/2\), ceil\(W/2\), 2\)"):
        native().nv12_scan_histogram(y, uv[:3], counts, 0, 4, 4)


@pytest.mark.parametrize("device", DEVICES)
def test_batches_reach_the_sink_in_order(device: str) -> None:
    frames = [_planes(60, 100, s) for s in range(10)]
    got: list[tuple[int, int, np.ndarray]] = []
    feats = ScanHistograms(
        torch.device(device), (30, 50), lambda i, n, h: got.append((i, n, h)), 601, False, batch=4
    )
    for i, (y, u, v) in enumerate(frames):
        tuv = torch.from_numpy(np.stack([u, v], -1)).to(device)
        feats.add(torch.from_numpy(y).to(device), tuv, i, 100 + i)
        # a full batch is read on the host when the next one is full (its copy has finished by then)
        assert len(got) == 4 * max(0, (i + 1) // 4 - 1)
    feats.finish()
    assert [(i, n) for i, n, _ in got] == [(i, 100 + i) for i in range(10)] and feats.batches_to_host == 3
    for (y, u, v), (_, _, h) in zip(frames, got, strict=True):
        ref = normalize(scan_histogram(y, u, v, (30, 50)))
        assert float(np.abs(h - ref).sum()) < 0.02


@pytest.mark.parametrize(
    "name", ["pyscenedetect__goldeneye-vfr-drop3.mp4", "pyscenedetect__issue-134-rotate.mp4"]
)
def test_nvdec_scan_cut_lists_equal_scenedetect(
    fake_nvc: None,  # noqa: F811
    testmedia: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from talkvid_fast.decode._nvdec import NvdecDecoder
    from talkvid_fast.segment import SceneCollector, small_size
    from tests.segment.test_scenes import scenedetects

    path = testmedia / "multishot" / name
    params = {"threshold": 0.085, "min_scene_len": 15}
    dec = NvdecDecoder(str(path), device="cpu")
    collector = SceneCollector("histogram", params)
    assert collector.takes_histograms
    shipped: list[int] = []
    finish = ScanHistograms.finish
    monkeypatch.setattr(ScanHistograms, "finish", lambda self: shipped.append(1) or finish(self))  # type: ignore[func-returns-value]
    monkeypatch.setattr(SceneCollector, "__call__", lambda *a: pytest.fail("a small frame reached the host"))
    scan = dec.scan(small_size(dec.metadata.coded_width, dec.metadata.coded_height), collector)
    assert shipped == [1] and len(collector.numbers) == len(scan.pts)  # every frame's feature, device path
    scenes = collector.scenes()
    theirs = scenedetects(path, "histogram", params)
    assert len(scenes) - 1 == len(theirs) and len(theirs) > 0
    assert all(abs(scan.times[a] - t) < 0.5 / 23.976 for (a, _), t in zip(scenes[1:], theirs, strict=True))
