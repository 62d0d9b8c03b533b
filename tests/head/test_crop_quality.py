"""Face-crop quality (Note [Face-crop quality]): the NumPy definitions against known answers and independent
calculations (OpenCV's Laplacian, numpy's percentiles, real JPEG encodes), and the Numba CPU and CUDA
kernels against the definitions (CUDA under the simulator; on a real GPU where there is one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from talkvid_fast.head import crop_quality as cq
from talkvid_fast.head import crop_quality_kernels as kern

REPO = Path(__file__).resolve().parents[2]


def _texture(size: int, seed: int = 0) -> np.ndarray:
    """A smooth-ish natural-looking luma texture (random blobs), uint8."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (size, size)).astype(np.float32)
    x = cv2.GaussianBlur(noise, (0, 0), 1.5)
    return np.clip(128 + 60 * x / x.std(), 0, 255).astype(np.uint8)


def test_sharpness_known_checkerboard() -> None:
    a = 20
    yy, xx = np.mgrid[0:32, 0:32]
    img = np.where((xx + yy) % 2 == 0, 128 + a, 128 - a).astype(np.uint8)
    # every interior Laplacian is +-8a, half of each sign: variance (8a)^2
    assert cq.crop_metrics(img)[0] == pytest.approx(64 * a * a)


def test_sharpness_equals_opencv_and_drops_with_blur() -> None:
    img = _texture(128)
    ref = cv2.Laplacian(img, cv2.CV_64F, ksize=1)[1:-1, 1:-1].var()  # independent implementation
    assert cq.crop_metrics(img)[0] == pytest.approx(ref, rel=1e-12)
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    assert cq.crop_metrics(blurred)[0] < 0.2 * cq.crop_metrics(img)[0]


def test_luma_percentiles_known_and_numpy() -> None:
    img = np.repeat(np.arange(256, dtype=np.uint8), 64).reshape(128, 128)  # each value 64 times
    # ranks ceil(0.05 * 16384) = 820, 8192, ceil(0.95 * 16384) = 15565 -> values (rank - 1) // 64
    np.testing.assert_array_equal(cq.crop_metrics(img)[1:4], [12, 127, 243])
    rng = np.random.default_rng(1)
    for _ in range(5):
        r = rng.integers(0, 256, (37, 53), dtype=np.uint8)
        expected = np.percentile(r, [5, 50, 95], method="inverted_cdf")
        np.testing.assert_array_equal(cq.crop_metrics(r)[1:4], expected)


def test_noise_known_sigma_and_zero_on_shading() -> None:
    rng = np.random.default_rng(2)
    noisy = np.clip(np.round(128 + rng.normal(0, 5.0, (256, 256))), 0, 255).astype(np.uint8)
    assert cq.crop_metrics(noisy)[4] == pytest.approx(5.0, rel=0.05)
    yy, xx = np.mgrid[0:64, 0:64]
    shading = (40 + 2 * xx + yy).astype(np.uint8)  # linear in x and in y: no noise at all
    assert cq.crop_metrics(shading)[4] == 0.0


def _frame_from_luma(y: np.ndarray) -> np.ndarray:
    return np.repeat(y[..., None], 3, axis=-1)  # grey: luma formula gives the value back exactly


def test_blockiness_known_block_pattern() -> None:
    by, bx = np.mgrid[0:12, 0:12]
    levels = np.where((bx + by) % 2 == 0, 100, 130).astype(np.uint8)  # 8x8 blocks of two levels
    y = np.kron(levels, np.ones((8, 8), np.uint8))  # 96x96, block edges on the 8 px grid
    frame = _frame_from_luma(y)
    box = np.array([0.0, 0.0, 96.0, 96.0])
    # every pair across a block edge differs by 30, no pair inside a block differs: (30 + 1) / (0 + 1)
    assert cq.blockiness(frame, box) == pytest.approx(31.0)
    shifted = _frame_from_luma(np.roll(y, 4, axis=(0, 1)))  # the same steps, off the coding grid
    assert cq.blockiness(shifted, box) < 1.0


def test_blockiness_rises_with_jpeg_compression() -> None:
    img = _texture(256, seed=3)
    scores = {}
    for q in (5, 30, 95):
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        assert ok
        dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        assert dec is not None
        scores[q] = cq.blockiness(_frame_from_luma(dec), np.array([10.3, 20.7, 240.2, 250.9]))
    assert scores[5] > scores[30] > scores[95] and scores[5] > 1.5 and scores[95] < 1.1


def test_luma_crop_of_known_frames() -> None:
    frame = np.zeros((300, 400, 3), np.uint8)
    frame[:] = (200, 100, 50)
    crops = cq.luma_crops(torch.from_numpy(frame[None]), np.array([0]), np.array([[50, 60, 250, 220.0]]))
    assert crops.shape == (1, 128, 128)
    assert (crops.numpy() == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)).all()
    # a 512 px face shrinks to 128 px by 4x4 supersampling: with the box on whole pixels every crop pixel is
    # the mean of one 4x4 block of the frame (a single bilinear sample per pixel would average only 2x2)
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (600, 600), dtype=np.uint8)
    crops = cq.luma_crops(
        torch.from_numpy(_frame_from_luma(noise)[None]), np.array([0]), np.array([[44, 44, 556, 556.0]])
    )
    blocks = noise[44:556, 44:556].reshape(128, 4, 128, 4).mean(axis=(1, 3))
    diff = np.abs(crops.numpy()[0].astype(float) - np.round(blocks))
    assert diff.max() <= 1 and diff.mean() < 0.05
    # a face smaller than the crop is enlarged: left half dark, right half bright
    half = np.zeros((100, 100), np.uint8)
    half[:, 50:] = 255
    crops = cq.luma_crops(
        torch.from_numpy(_frame_from_luma(half)[None]), np.array([0]), np.array([[0, 0, 100, 100.0]])
    )
    c = crops.numpy()[0]
    assert (c[:, :60] == 0).all() and (c[:, 68:] == 255).all()


def test_params_validated() -> None:
    with pytest.raises(ValueError, match="allowed"):
        cq.CropQualityParams.from_dict({"min_sharp": 3})
    p = cq.CropQualityParams.from_dict({"enabled": True, "min_sharpness": 50.0, "max_blockiness": 1.5})
    good = {
        "sharpness": 60.0,
        "luma_p05": 10,
        "luma_p50": 100,
        "luma_p95": 200,
        "noise": 1,
        "blockiness": 1.2,
    }
    assert cq.gates(good, p) == {"crop_sharpness": True, "crop_blockiness": True}
    assert cq.gates({**good, "sharpness": 49.0}, p)["crop_sharpness"] is False
    assert cq.gates({k: float("nan") for k in good}, p) == {"crop_sharpness": False, "crop_blockiness": False}


def _cases() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    crops = rng.integers(0, 256, (6, 24, 24), dtype=np.uint8)
    crops[1] = 77
    crops[2] = _texture(24, seed=4)
    frames = rng.integers(0, 256, (2, 40, 52, 3), dtype=np.uint8)
    index = np.array([0, 1, 1, 0])
    boxes = np.array([[3.5, 2.2, 30.1, 38.9], [-5, 10, 200, 50], [8, 8, 16, 16], [20, 20, 20.5, 21]])
    return crops, frames, index, boxes


def test_numba_cpu_equals_reference() -> None:
    crops, frames, index, boxes = _cases()
    ref = np.stack([cq.crop_metrics(c) for c in crops])
    np.testing.assert_array_equal(kern.crop_metrics_cpu(crops), ref)
    ref_b = [cq.blockiness(frames[i], b) for i, b in zip(index, boxes, strict=True)]
    np.testing.assert_array_equal(kern.blockiness_cpu(frames, index, boxes), ref_b)


_SIM = """
import numpy as np
from tests.head.test_crop_quality import _cases
from talkvid_fast.head import crop_quality as cq, crop_quality_kernels as kern
crops, frames, index, boxes = _cases()
ref = np.stack([cq.crop_metrics(c) for c in crops[:3]])
got = kern.crop_metrics_cuda(crops[:3])
ref_b = np.array([cq.blockiness(frames[i], b) for i, b in zip(index, boxes)])
got_b = kern.blockiness_cuda(frames, index, boxes)
print("maxdiff", np.abs(ref - got).max(), np.abs(ref_b - got_b).max())
assert np.array_equal(ref, got) and np.array_equal(ref_b, got_b)
"""


def test_numba_cuda_under_simulator() -> None:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", _SIM], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "maxdiff" in proc.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_numba_cuda_on_gpu_reads_torch_tensors() -> None:
    crops, frames, index, boxes = _cases()
    got = kern.crop_metrics_cuda(torch.from_numpy(crops).cuda())
    np.testing.assert_array_equal(got, np.stack([cq.crop_metrics(c) for c in crops]))
    got_b = kern.blockiness_cuda(torch.from_numpy(frames).cuda(), index, boxes)
    np.testing.assert_array_equal(
        got_b, [cq.blockiness(frames[i], b) for i, b in zip(index, boxes, strict=True)]
    )


_PTX = """
import types
import numba.cuda.dispatcher as dispatcher
from numba import cuda, types as T
dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
from talkvid_fast.head import crop_quality_jit as J
sigs = (
    (J.crops_cuda(), (T.Array(T.uint8, 3, "C"), T.Array(T.float64, 2, "C"))),
    (J.block_cuda(), (T.Array(T.uint8, 4, "C"), T.Array(T.int64, 1, "C"), T.Array(T.int64, 2, "C"),
                      T.Array(T.float64, 1, "C"))),
)
for kernel, sig in sigs:
    code, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    print("ptx", code.count(chr(10)))
"""


def test_cuda_kernels_compile_to_ptx() -> None:
    """The simulator does not type-check CUDA code; NVVM does (sm_90 PTX, no GPU needed)."""
    from tests.motion.test_klt_cuda import _cuda_home

    home = _cuda_home()
    if home is None:
        pytest.skip("no CUDA toolkit with libNVVM (CUDA_HOME)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env.update(CUDA_HOME=home, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", _PTX], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("ptx") == 2
