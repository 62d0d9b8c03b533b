"""The `klt` tracker on CUDA: OpenCV's pyramidal Lucas-Kanade as Numba CUDA kernels, on device arrays.

Note [KLT on CUDA]: `track_windows_cuda` computes what `klt.track_windows` computes (Note [KLT validity])
without leaving the GPU: the frames (a torch CUDA tensor, taken through `__cuda_array_interface__`, never
copied to the host) become luma, a pyramid and Scharr derivatives once per clip, then one launch per frame
step tracks every point of every window holding that step, forward and backward, one thread per point.
It follows OpenCV's `calcOpticalFlowPyrLK` step by step, so the two backends agree on what they track:
- luma with OpenCV's fixed-point BT.601 weights; `pyrDown` (5x5 binomial, reflect-101 border, rounded to
  uint8); the pyramid stops where OpenCV's `buildOpticalFlowPyramid` stops (a level must exceed the window);
- Scharr derivatives (3 10 3) x (-1 0 1) in int16, zero outside the level;
- per level: the window patch sampled with 14-bit bilinear weights (intensity x 32, as OpenCV), the 2x2
  gradient matrix, the min-eigenvalue test (`min_eig_threshold`), then Newton steps until the step is below
  `epsilon` (or it oscillates: OpenCV's half-step rule) or `iterations` are spent; a window that leaves the
  padded level loses the point (status 0), as does the final position's window.
It differs only in summation order and precision (float64 sums here, float32 in OpenCV): luma, pyramid
and derivatives are bit-exact; tracked positions agree to within OpenCV's stop step (measured under the
simulator: <= 0.0015 px); a point right at a threshold (forward-backward error ~1 px, min eigenvalue) may
flip. tests/motion/test_klt_cuda.py states the tolerances. Window size <= MAX_WIN (31); each thread keeps
its window patch in local memory (~5.8 KB), as OpenCV keeps it on the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .klt import KltParams, confidence

DEFAULT_PARAMS = KltParams()


@dataclass(frozen=True)
class PyramidLayout:
    heights: tuple[int, ...]  #: per level
    widths: tuple[int, ...]
    offsets: tuple[int, ...]  #: start of each level in the packed (F, total) buffer
    total: int


def pyramid_layout(height: int, width: int, win_size: int, max_level: int) -> PyramidLayout:
    """The levels OpenCV's buildOpticalFlowPyramid builds: halve (rounding up) while a level exceeds the window."""
    hs, ws, offs = [height], [width], [0]
    h, w = height, width
    for _ in range(max_level):
        h, w = (h + 1) // 2, (w + 1) // 2
        if w <= win_size or h <= win_size:
            break
        offs.append(offs[-1] + hs[-1] * ws[-1])
        hs.append(h)
        ws.append(w)
    return PyramidLayout(tuple(hs), tuple(ws), tuple(offs), offs[-1] + hs[-1] * ws[-1])


def _launch(n: int, threads: int = 128) -> tuple[int, int]:
    from numba import config

    if getattr(
        config, "ENABLE_CUDASIM", False
    ):  # the simulator runs a Python thread per CUDA thread: few, grid-striding
        return 1, max(1, min(8, n))
    threads = max(1, min(threads, n))
    return max(1, min((n + threads - 1) // threads, 65535)), threads


class _Alloc:
    """Device buffers beside the input: torch's allocator for torch tensors, Numba's otherwise."""

    def __init__(self, frames: Any) -> None:
        self.torch_device = None
        try:
            import torch

            if isinstance(frames, torch.Tensor):
                if not frames.is_cuda:
                    raise ValueError("frames must be a CUDA tensor (or a host NumPy array)")
                self.torch_device = frames.device
        except ImportError:  # pragma: no cover - torch is a dependency
            pass

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> tuple[Any, Any]:
        """(owner, Numba view) of a zeroed device array."""
        from numba import cuda

        if self.torch_device is not None:
            import torch

            tdt = {np.uint8: torch.uint8, np.int16: torch.int16, np.float32: torch.float32}[dtype]
            t = torch.zeros(shape, dtype=tdt, device=self.torch_device)
            return t, cuda.as_cuda_array(t)
        d = cuda.to_device(np.zeros(shape, dtype=dtype))
        return d, d

    def upload(self, values: np.ndarray) -> tuple[Any, Any]:
        """(owner, Numba view) of a device copy of a small host array."""
        from numba import cuda

        if self.torch_device is not None:
            import torch

            t = torch.from_numpy(values).to(self.torch_device)
            return t, cuda.as_cuda_array(t)
        d = cuda.to_device(np.ascontiguousarray(values))
        return d, d

    def const(self, values: np.ndarray) -> Any:
        from numba import cuda

        return cuda.to_device(np.ascontiguousarray(values))  # a few small index arrays


def _stream(alloc: _Alloc) -> Any:
    """torch's current stream when the frames are torch's (so launches order with torch's work), else 0."""
    if alloc.torch_device is None:
        return 0
    import torch
    from numba import cuda

    ptr = torch.cuda.current_stream(alloc.torch_device).cuda_stream
    return cuda.external_stream(ptr) if ptr else 0


def _device_frames(frames: Any, params: KltParams) -> tuple[_Alloc, Any]:
    from numba import cuda

    from . import _klt_cuda as K

    if params.win_size > K.MAX_WIN or params.win_size < 3:
        raise ValueError(f"klt_win_size {params.win_size}: the CUDA tracker takes 3..{K.MAX_WIN}")
    alloc = _Alloc(frames)
    if alloc.torch_device is not None:
        d_frames = cuda.as_cuda_array(frames.contiguous())
    else:
        d_frames = cuda.to_device(np.ascontiguousarray(frames))
    if len(d_frames.shape) != 4 or d_frames.shape[3] != 3 or d_frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (F, H, W, 3); got {d_frames.dtype} {d_frames.shape}")
    if min(d_frames.shape[1], d_frames.shape[2]) <= params.win_size:
        raise ValueError(f"frames {d_frames.shape[2]}x{d_frames.shape[1]} must exceed the LK window")
    return alloc, d_frames


def build_pyramids(
    frames: Any,  # uint8 (F, H, W, 3) RGB, torch CUDA tensor or host array
    params: KltParams = DEFAULT_PARAMS,
    stream: Any = 0,
) -> tuple[PyramidLayout, Any, Any]:
    """(layout, pyr uint8 (F, total), deriv int16 (F, total, 2)) as Numba device arrays: luma, pyrDown, Scharr."""
    from . import _klt_cuda as K

    alloc, d_frames = _device_frames(frames, params)
    n_frames, height, width, _ = d_frames.shape
    lay = pyramid_layout(height, width, params.win_size, params.max_level)
    _, pyr = alloc.zeros((n_frames, lay.total), np.uint8)
    _, deriv = alloc.zeros((n_frames, lay.total, 2), np.int16)
    b, t = _launch(n_frames * height * width)
    K.gray_kernel[b, t, stream](d_frames, pyr)
    for lev in range(1, len(lay.heights)):
        b, t = _launch(n_frames * lay.heights[lev] * lay.widths[lev])
        K.pyrdown_kernel[b, t, stream](
            pyr, lay.offsets[lev - 1], lay.heights[lev - 1], lay.widths[lev - 1],
            lay.offsets[lev], lay.heights[lev], lay.widths[lev],
        )  # fmt: skip
    for lev in range(len(lay.heights)):
        b, t = _launch(n_frames * lay.heights[lev] * lay.widths[lev])
        K.scharr_kernel[b, t, stream](pyr, deriv, lay.offsets[lev], lay.heights[lev], lay.widths[lev])
    return lay, pyr, deriv


def track_windows_cuda(
    frames: Any,  # uint8 (F, H, W, 3) RGB: a torch CUDA tensor (zero copy) or a host array (copied over)
    starts: np.ndarray,  # int64 (W,) first frame of each window
    length: int,  # frames per window
    points: np.ndarray,  # float32 (K, 2) x, y queried at each window's first frame
    params: KltParams = DEFAULT_PARAMS,
) -> tuple[Any, Any]:
    """tracks float32 (W, T, K, 2) and conf float32 (W, T, K): torch CUDA tensors for torch input, else NumPy.

    Same contract as `klt.track_windows`: the kernel records forward-backward errors (+inf once lost) and
    `klt.confidence` turns them into confidence, on the device for torch input."""
    from . import _klt_cuda as K

    alloc = _Alloc(frames)
    n_frames = int(frames.shape[0])
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) == 0 or starts.max() + length > n_frames or starts.min() < 0:
        raise ValueError(f"windows {starts.tolist()} of length {length} do not fit {n_frames} frames")
    stream = _stream(alloc)
    lay, pyr, deriv = build_pyramids(frames, params, stream)

    n_win, k = len(starts), len(points)
    init_t = np.zeros((n_win, length, k, 2), np.float32)
    init_t[:, 0] = np.asarray(points, dtype=np.float32)
    tracks_owner, tracks = alloc.upload(init_t)  # points only: O(W * T * K), no frame data
    fb_owner, fb = alloc.upload(np.zeros((n_win, length, k), np.float32))

    loff, lh, lw = (alloc.const(np.array(v, np.int64)) for v in (lay.offsets, lay.heights, lay.widths))
    d_starts = alloc.const(starts)
    b, t = _launch(n_win * k, 64)
    eps2 = min(max(params.epsilon, 0.0), 10.0) ** 2
    for f in range(1, n_frames):
        if not np.any((starts < f) & (starts + length > f)):
            continue
        K.track_step_kernel[b, t, stream](
            pyr, deriv, loff, lh, lw, len(lay.heights), d_starts, length, f, tracks, fb,
            params.win_size, params.iterations, eps2, np.float32(params.min_eig_threshold),
        )  # fmt: skip
    # the validity rule runs after the tracker, in code shared with the OpenCV path (Note [KLT validity])
    if alloc.torch_device is not None:
        return tracks_owner, confidence(fb_owner, params)
    return tracks.copy_to_host(), confidence(fb.copy_to_host(), params)
