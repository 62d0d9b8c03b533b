"""PSNR, SSIM and landmark distance against independent closed forms (Note [Frame metrics])."""

from __future__ import annotations

import numpy as np
import pytest

from talkvid_fast.evaluate.frame_metrics import MOUTH, PSNR_IDENTICAL, landmark_distance, psnr, ssim


def test_psnr_of_a_constant_offset() -> None:
    a = np.full((2, 16, 16, 3), 100, np.uint8)
    b = a.copy()
    b[1] += 5  # MSE 25 in frame 1, identical frame 0
    np.testing.assert_allclose(psnr(b, a), [PSNR_IDENTICAL, 10 * np.log10(255**2 / 25)])


@pytest.mark.parametrize(("x", "y"), [(100, 100), (100, 140), (30, 220)])
def test_ssim_of_flat_images_is_the_luminance_term(x: int, y: int) -> None:
    """Flat images: no variance, so SSIM = (2 μx μy + C1) / (μx² + μy² + C1), C1 = (0.01 · 255)²."""
    a = np.full((1, 32, 32, 3), x, np.uint8)
    b = np.full((1, 32, 32, 3), y, np.uint8)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b)[0] == pytest.approx((2 * x * y + c1) / (x * x + y * y + c1), rel=1e-9)


def test_ssim_falls_with_noise() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (1, 48, 48, 3), dtype=np.uint8)
    noisy = np.clip(a.astype(int) + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, a)[0] == pytest.approx(1.0)
    assert ssim(noisy, a)[0] < 0.9


def test_landmark_distance_of_a_known_mouth_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.uniform(0, 512, (4, 468, 3))
    gen = ref.copy()
    gen[:, list(MOUTH), 0] += 3.0  # the 40 lip points move 3 px right
    gen[2] = np.nan  # no face found in generated frame 2
    m, f, used = landmark_distance(gen, ref)
    assert used == 3
    assert m == pytest.approx(3.0)
    assert f == pytest.approx(3.0 * len(MOUTH) / 468)
    assert landmark_distance(np.full_like(ref, np.nan), ref) == (None, None, 0)
