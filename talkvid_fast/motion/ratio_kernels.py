"""Fast paths of the stability ratios: Numba CPU and Numba CUDA, tested against `ratio_reference`.

Both count, per window (paper) or per segment (official), the trajectories / visible samples exactly as
Note [Paper ratio] and Note [Official ratio] define them, in float64 for the displacement test like the
reference. Kernels are compiled on first use, never at import. The CUDA path takes device arrays (Numba
device arrays, CuPy or torch CUDA tensors through `__cuda_array_interface__`) or host arrays, and runs
under the Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1) for CI.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np


@cache
def _cpu_kernels() -> tuple[Any, Any]:
    import numba

    @numba.njit(parallel=True, cache=False)
    def paper_counts(tracks, conf, height, width, min_conf, max_disp):
        n_win, n_t, n_k = conf.shape
        counts = np.zeros(n_win, dtype=np.int64)
        for w in numba.prange(n_win):
            c = 0
            for k in range(n_k):
                ok = True
                for t in range(n_t):
                    x = np.float64(tracks[w, t, k, 0])
                    y = np.float64(tracks[w, t, k, 1])
                    if conf[w, t, k] < min_conf or x < 0 or x > width - 1 or y < 0 or y > height - 1:
                        ok = False
                        break
                    if t > 0:
                        dx = x - np.float64(tracks[w, t - 1, k, 0])
                        dy = y - np.float64(tracks[w, t - 1, k, 1])
                        if math.sqrt(dx * dx + dy * dy) > max_disp:
                            ok = False
                            break
                if ok:
                    c += 1
            counts[w] = c
        return counts

    @numba.njit(parallel=True, cache=False)
    def official_counts(vis, bounds, threshold):
        n_seg = len(bounds) - 1
        n = vis.shape[1]
        counts = np.zeros(n_seg, dtype=np.int64)
        for s in numba.prange(n_seg):
            c = 0
            for t in range(bounds[s], bounds[s + 1]):
                for i in range(n):
                    if t == bounds[s] or vis[t, i] > threshold:
                        c += 1
            counts[s] = c
        return counts

    return paper_counts, official_counts


def paper_window_ratios_cpu(
    tracks: np.ndarray,  # float32 (W, T, K, 2) x, y px
    conf: np.ndarray,  # float32 (W, T, K)
    height: int,
    width: int,
    min_conf: float = 0.5,
    max_disp: float = 20.0,
) -> np.ndarray:
    """float64 (W,): the paper window ratios, Numba CPU."""
    paper_counts, _ = _cpu_kernels()
    tracks = np.ascontiguousarray(tracks, dtype=np.float32)
    conf = np.ascontiguousarray(conf, dtype=np.float32)
    counts = paper_counts(tracks, conf, float(height), float(width), float(min_conf), float(max_disp))
    return np.asarray(counts / tracks.shape[2], dtype=np.float64)


def official_segment_ratios_cpu(
    vis: np.ndarray,  # float32 (F, N) visibility probabilities of all segments, concatenated
    bounds: np.ndarray,  # int64 (S + 1,) segment s = rows bounds[s]:bounds[s+1]
    threshold: float = 0.9,
) -> np.ndarray:
    """float32 (S,): visible fraction per segment (frame 0 of each forced visible), Numba CPU."""
    _, official_counts = _cpu_kernels()
    vis = np.ascontiguousarray(vis, dtype=np.float32)
    bounds = np.ascontiguousarray(bounds, dtype=np.int64)
    counts = official_counts(vis, bounds, np.float32(threshold))
    return _official_fraction(counts, np.diff(bounds) * vis.shape[1])


def _official_fraction(counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    # the official code takes a float32 mean of a boolean tensor: float32(count) / float32(total)
    return np.asarray(counts, dtype=np.float32) / np.asarray(totals, dtype=np.float32)


def _cuda_kernels() -> tuple[Any, Any]:
    # in their own module: the CUDA simulator patches `cuda` in the kernels' module globals
    from . import _ratio_cuda

    return _ratio_cuda.paper_counts_kernel, _ratio_cuda.official_counts_kernel


def _on_device(x: Any) -> Any:
    """A Numba device view of `x`: device arrays pass through (zero copy), host arrays are copied over."""
    from numba import cuda

    if hasattr(x, "__cuda_array_interface__"):
        return cuda.as_cuda_array(x) if hasattr(cuda, "as_cuda_array") else x
    if type(x).__module__.startswith("numba"):  # a Numba (or simulator) device array
        return x
    return cuda.to_device(np.ascontiguousarray(x, dtype=np.float32))


def _launch(n: int, threads: int = 256) -> tuple[int, int]:
    return max(1, min((n + threads - 1) // threads, 4096)), threads


def paper_window_ratios_cuda(
    tracks: Any,  # float32 (W, T, K, 2), host or device
    conf: Any,  # float32 (W, T, K), host or device
    height: int,
    width: int,
    min_conf: float = 0.5,
    max_disp: float = 20.0,
) -> np.ndarray:
    """float64 (W,): the paper window ratios, Numba CUDA (one thread per trajectory)."""
    from numba import cuda

    kernel, _ = _cuda_kernels()
    d_tracks, d_conf = _on_device(tracks), _on_device(conf)
    n_win, _, n_k = d_conf.shape
    counts = cuda.to_device(np.zeros(n_win, dtype=np.int64))
    blocks, threads = _launch(n_win * n_k)
    kernel[blocks, threads](
        d_tracks, d_conf, float(height), float(width), float(min_conf), float(max_disp), counts
    )
    return np.asarray(counts.copy_to_host() / n_k, dtype=np.float64)


def official_segment_ratios_cuda(
    vis: Any,  # float32 (F, N) visibility probabilities, host or device
    bounds: np.ndarray,  # int64 (S + 1,)
    threshold: float = 0.9,
) -> np.ndarray:
    """float32 (S,): visible fraction per segment, Numba CUDA (one thread per sample)."""
    from numba import cuda

    _, kernel = _cuda_kernels()
    bounds = np.asarray(bounds, dtype=np.int64)
    d_vis = _on_device(vis)
    n_rows, n = d_vis.shape
    lengths = np.diff(bounds)
    seg_of_row = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    first_row = np.zeros(n_rows, dtype=np.bool_)
    first_row[bounds[:-1][lengths > 0]] = True
    counts = cuda.to_device(np.zeros(len(lengths), dtype=np.int64))
    blocks, threads = _launch(n_rows * n)
    kernel[blocks, threads](
        d_vis, cuda.to_device(seg_of_row), cuda.to_device(first_row), np.float32(threshold), counts
    )
    return _official_fraction(counts.copy_to_host(), lengths * n)


def camera_motion_torch(tracks: Any, conf: Any, min_conf: float = 0.5) -> tuple[float, float]:
    """`ratio_reference.camera_motion` in torch ops, on the tensors' device (CUDA tracks stay there)."""
    import torch

    tr = tracks.double()
    ok = conf >= min_conf
    step_ok = ok[:, :-1] & ok[:, 1:]  # (W, T-1, K)
    n = step_ok.sum(-1)  # (W, T-1)
    d = tr[:, 1:] - tr[:, :-1]  # (W, T-1, K, 2)
    inf = torch.tensor(math.inf, dtype=torch.float64, device=tr.device)
    srt = torch.where(step_ok[..., None], d, inf).sort(dim=2).values
    idx = ((n - 1).clamp(min=0) // 2)[..., None, None].expand(-1, -1, 1, 2)
    med = srt.gather(2, idx)[:, :, 0]  # (W, T-1, 2)
    speeds = torch.hypot(med[..., 0], med[..., 1])[n > 0].sort().values
    speed = float(speeds[(len(speeds) - 1) // 2]) if len(speeds) else math.nan
    whole = ok.all(dim=1)  # (W, K)
    m = whole.sum(-1)  # (W,)
    disp = torch.hypot(*(tr[:, -1] - tr[:, 0]).unbind(-1))
    srt_d = torch.where(whole, disp, inf).sort(dim=1).values
    at = (torch.ceil(0.95 * m.double()).long() - 1).clamp(min=0)[:, None]
    per_win = srt_d.gather(1, at)[:, 0][m > 0]
    motion = float(per_win.max()) if len(per_win) else 0.0
    return speed, motion
