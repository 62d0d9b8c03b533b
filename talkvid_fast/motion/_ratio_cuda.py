"""Numba CUDA kernels of the stability ratios (see ratio_kernels.py; compiled on first launch)."""

# mypy: ignore-errors
# (Numba CUDA kernels: untyped Python by design)
from __future__ import annotations

import math

from numba import cuda


@cuda.jit
def paper_counts_kernel(tracks, conf, height, width, min_conf, max_disp, counts):
    # one thread per (window, point); grid-stride over W * K
    n_win, n_t, n_k = conf.shape
    start = cuda.grid(1)
    for idx in range(start, n_win * n_k, cuda.gridsize(1)):
        w = idx // n_k
        k = idx - w * n_k
        ok = True
        px = 0.0
        py = 0.0
        for t in range(n_t):
            x = float(tracks[w, t, k, 0])
            y = float(tracks[w, t, k, 1])
            if conf[w, t, k] < min_conf or x < 0 or x > width - 1 or y < 0 or y > height - 1:
                ok = False
                break
            if t > 0 and math.sqrt((x - px) * (x - px) + (y - py) * (y - py)) > max_disp:
                ok = False
                break
            px = x
            py = y
        if ok:
            cuda.atomic.add(counts, w, 1)


@cuda.jit
def official_counts_kernel(vis, seg_of_row, first_row, threshold, counts):
    # one thread per (row, point); a row's segment is seg_of_row[row]
    n_rows, n = vis.shape
    start = cuda.grid(1)
    for idx in range(start, n_rows * n, cuda.gridsize(1)):
        t = idx // n
        i = idx - t * n
        if first_row[t] or vis[t, i] > threshold:
            cuda.atomic.add(counts, seg_of_row[t], 1)
