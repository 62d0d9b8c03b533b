"""The views' resizes (decode/_views.py resize_rgb) against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.decode import resize_rgb
from talkvid_fast.quality.reference import resize_aa_ref


@pytest.mark.parametrize(("shape", "size"), [((1080, 1920), (360, 640)), ((500, 300), (224, 224))])
def test_uint8_antialiased_resize_is_within_one_level_of_the_exact_filter(
    shape: tuple[int, int], size: tuple[int, int]
) -> None:
    """FrameRequest.antialias_uint8 (the speaker's view): torch's uint8 kernel is PIL's fixed-point triangle
    filter, so it stays within one level of the exact antialiased bilinear (NumPy, float64, not rounded),
    as the float kernel does; plain bilinear on the same downscale is far off (the filter is really used)."""
    rng = np.random.default_rng(shape[0])
    smooth = rng.integers(0, 256, (shape[0] // 8 + 1, shape[1] // 8 + 1, 3)).astype(np.float32)
    big = torch.nn.functional.interpolate(  # texture at every scale: smooth ramps plus pixel noise
        torch.from_numpy(smooth).permute(2, 0, 1)[None], size=shape, mode="bilinear", align_corners=False
    )[0].permute(1, 2, 0)
    noise = torch.from_numpy(rng.integers(-40, 41, (*shape, 3)).astype(np.float32))
    image = (big + noise).clamp(0, 255).round().to(torch.uint8)
    ref = resize_aa_ref(image.numpy()[None], size)[0]
    fast = resize_rgb(image, size, antialias=True, uint8=True)
    exact = resize_rgb(image, size, antialias=True)
    assert fast.shape == (*size, 3) and fast.dtype == torch.uint8 and fast.is_contiguous()
    assert np.abs(fast.numpy() - ref).max() <= 1.0
    assert np.abs(exact.numpy() - ref).max() <= 0.5 + 1e-3
    plain = resize_rgb(image, size, antialias=False).numpy().astype(np.float64)
    assert np.abs(plain - ref).max() > 10
