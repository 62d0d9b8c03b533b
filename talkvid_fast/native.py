"""The native module `talkvid_fast._native` (C++ twins, CUDA kernels), imported with a clear error."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import torch


class NativeModuleMissing(ImportError):
    pass


def native() -> ModuleType:
    try:
        return importlib.import_module("talkvid_fast._native")
    except ImportError as exc:
        raise NativeModuleMissing(
            "talkvid_fast._native is not built; install the package with `pip install -e .` "
            f"(needs a C++17 compiler and CMake; CUDA toolkit optional) ({exc})"
        ) from exc


def build_info() -> dict[str, Any]:
    """What the native module was built with: {"cuda": bool, "cuda_version", "cuda_architectures", "compiler"}."""
    return dict(native().build_info)


def _stream(t: torch.Tensor) -> int:
    return torch.cuda.current_stream(t.device).cuda_stream if t.is_cuda else 0


def yuv420_to_rgb(
    y: torch.Tensor,
    uv: torch.Tensor | None = None,
    u: torch.Tensor | None = None,
    v: torch.Tensor | None = None,
    size: tuple[int, int] | None = None,
    matrix: int = 709,
    full_range: bool = False,
) -> torch.Tensor:
    """NV12 (y + uv) or I420 (y + u + v) uint8 planes -> RGB uint8 (H', W', 3) on the same device.

    y: (H, W); uv: (ceil(H/2), ceil(W/2), 2); u, v: (ceil(H/2), ceil(W/2)); size: (H', W') or None.
    Runs the CUDA kernel for CUDA tensors (on torch's current stream) and the C++ twin for CPU tensors.
    """
    h, w = size if size is not None else (int(y.shape[0]), int(y.shape[1]))
    out = torch.empty((h, w, 3), dtype=torch.uint8, device=y.device)
    mod = native()
    if uv is not None:
        mod.nv12_to_rgb(y, uv, out, matrix, full_range, _stream(y))
    elif u is not None and v is not None:
        mod.i420_to_rgb(y, u, v, out, matrix, full_range, _stream(y))
    else:
        raise ValueError("pass either uv (NV12) or both u and v (I420)")
    return out
