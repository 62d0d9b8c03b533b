"""Numba compilations of the crop quality cores (imported lazily: compiling takes seconds)."""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from .crop_quality_kernels import NCROP, _block_core, _crop_core

_crop_cpu = numba.njit(cache=True)(_crop_core)
_block_cpu = numba.njit(cache=True)(_block_core)


@numba.njit(cache=True)
def crops_cpu(crops, out):
    hist = np.zeros(256, np.int64)
    for c in range(crops.shape[0]):
        _crop_cpu(crops, c, hist, out)


@numba.njit(cache=True)
def block_cpu(frames, index, bounds, out):
    for m in range(bounds.shape[0]):
        out[m] = _block_cpu(frames, index[m], bounds[m, 0], bounds[m, 1], bounds[m, 2], bounds[m, 3])


_kernels: dict[str, object] = {}


def crops_cuda():
    """The crop kernel (one thread per crop), compiled on first use."""
    if "crops" not in _kernels:
        core = cuda.jit(device=True)(_crop_core)

        @cuda.jit
        def kernel(crops, out):
            c = cuda.grid(1)  # type: ignore[call-arg,var-annotated]
            hist = cuda.local.array(256, numba.int64)
            if c < crops.shape[0]:
                core(crops, c, hist, out)

        _kernels["crops"] = kernel
    return _kernels["crops"]


def block_cuda():
    """The blockiness kernel (one thread per face), compiled on first use."""
    if "block" not in _kernels:
        core = cuda.jit(device=True)(_block_core)

        @cuda.jit
        def kernel(frames, index, bounds, out):
            m = cuda.grid(1)  # type: ignore[call-arg,var-annotated]
            if m < bounds.shape[0]:
                out[m] = core(frames, index[m], bounds[m, 0], bounds[m, 1], bounds[m, 2], bounds[m, 3])

        _kernels["block"] = kernel
    return _kernels["block"]


__all__ = ["NCROP", "block_cpu", "block_cuda", "crops_cpu", "crops_cuda"]
