"""The native ops called as a library with CuPy arrays on the GPU (docs/native_api.md): no torch in the call,
CuPy's stream passed as `stream=`, results equal to the NumPy references. Skips without CuPy and a GPU."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from talkvid_fast.reference.color import yuv420_to_rgb as reference

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="needs CuPy"),
]


@pytest.fixture(scope="module")
def cp() -> Any:
    import cupy

    try:
        cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("CuPy sees no CUDA GPU")
    return cupy


def test_nv12_to_rgb_on_cupy_arrays(cp: Any) -> None:
    from talkvid_fast.native import native

    rng = np.random.default_rng(0)
    y = rng.integers(16, 236, (90, 160), dtype=np.uint8)
    u = rng.integers(16, 241, (45, 80), dtype=np.uint8)
    v = rng.integers(16, 241, (45, 80), dtype=np.uint8)
    uv = np.stack([u, v], axis=-1)
    out = cp.zeros((48, 64, 3), dtype=cp.uint8)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        native().nv12_to_rgb(cp.asarray(y), cp.asarray(uv), out, 709, False, stream.ptr)
    stream.synchronize()
    want = reference(y, u, v, (48, 64), 709, False)
    assert np.abs(cp.asnumpy(out).astype(int) - want.astype(int)).max() <= 1


def test_fragment_gather_accepts_cupy(cp: Any) -> None:
    """DOVER's fragment gather on CuPy arrays equals the same op on torch CPU tensors (the quality stage's call)."""
    import torch

    from talkvid_fast.native import native
    from talkvid_fast.quality.sampling import MEAN, PATCH, STD, make_plan, technical_view

    plan = make_plan("cupy-scene1", 300, 360, 640)
    frames = np.random.default_rng(1).integers(0, 256, (96, 360, 640, 3), dtype=np.uint8)
    want = technical_view(torch.from_numpy(frames), plan).numpy()
    out = cp.zeros(want.shape, dtype=cp.float32)
    args = (cp.asarray(frames), cp.asarray(plan.top), cp.asarray(plan.left), out)
    native().fragment_gather(*args, MEAN, STD, PATCH, cp.cuda.get_current_stream().ptr)
    cp.cuda.runtime.deviceSynchronize()
    np.testing.assert_allclose(cp.asnumpy(out), want, rtol=0, atol=1e-6)
