"""Numba compilations of `scores_kernels._clip_scores` (imported lazily: compiling takes seconds)."""

from __future__ import annotations

import numba
from numba import cuda

from .scores_kernels import _clip_scores

_core_cpu = numba.njit(cache=True)(_clip_scores)


@numba.njit(cache=True)
def run_cpu(kps, pose, box, off, bad, w, h, out):
    for c in range(len(bad)):
        _core_cpu(kps, pose, box, off[c], off[c + 1], bad[c], w[c], h[c], out, c)


_kernel = None


def run_cuda():
    """The CUDA kernel (one thread per clip), compiled on first use."""
    global _kernel
    if _kernel is None:
        core = cuda.jit(device=True)(_clip_scores)

        @cuda.jit
        def kernel(kps, pose, box, off, bad, w, h, out):
            c = cuda.grid(1)  # type: ignore[call-arg,var-annotated]
            if c < bad.shape[0]:
                core(kps, pose, box, off[c], off[c + 1], bad[c], w[c], h[c], out, c)

        _kernel = kernel
    return _kernel
