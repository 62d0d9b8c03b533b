"""The head scores for batches of clips: a Numba CPU fast path and a Numba CUDA kernel, one source.

Note [Head score kernels]: clips are packed CSR-style: `face_off[c]:face_off[c+1]` are clip c's
single-face frames in `kps` (F, 10), `pose` (F, 3), `box` (F, 4); `bad[c]` counts its sampled frames
without exactly one face. `_clip_scores` is plain scalar Python over one clip, compiled twice: by
`numba.njit` (a `prange` over clips on the CPU) and by `numba.cuda.jit(device=True)` (one thread per
clip on the GPU; a clip has at most a few hundred faces, so a thread per clip keeps the sequential
argmax/argmin semantics of the reference and needs no atomics). Output: (C, 17) float64 in
`scores_reference.SCORE_NAMES` order, equal to `head_scores` (tested, also under the CUDA simulator).
"""

from __future__ import annotations

import math

import numpy as np

from .scores_reference import SCORE_NAMES, ClipFaces

NCOL = len(SCORE_NAMES)


def _clip_scores(kps, pose, box, a, b, bad, w, h, out, c):
    k = b - a
    out[c, 15] = max(0.0, 100.0 - 20.0 * bad)
    out[c, 16] = k
    if k == 0:
        for j in range(15):
            out[c, j] = math.nan
        return
    mn = min(w, h)
    if k >= 2:
        s_m = 0.0
        s_r = 0.0
        max_m = -1.0
        max_r = -1.0
        arg_m = 0
        arg_r = 0
        for i in range(a, b - 1):
            d = 0.0
            for j in range(10):
                d += abs(kps[i, j] - kps[i + 1, j])
            m = d / 10.0 / mn
            dp = pose[i, 0] - pose[i + 1, 0]
            dy = pose[i, 1] - pose[i + 1, 1]
            dr = pose[i, 2] - pose[i + 1, 2]
            r = math.sqrt(dp * dp + dy * dy + dr * dr)
            s_m += m
            s_r += r
            if m > max_m:
                max_m = m
                arg_m = i - a
            if r > max_r:
                max_r = r
                arg_r = i - a
        out[c, 0] = 100.0 - 100.0 * (s_m / (k - 1))
        out[c, 1] = 100.0 - 100.0 * max_m
        out[c, 2] = arg_m
        out[c, 3] = 100.0 - s_r / (k - 1)
        out[c, 4] = 100.0 - max_r
        out[c, 5] = arg_r
    else:
        out[c, 0] = 100.0
        out[c, 1] = 100.0
        out[c, 2] = 0.0
        out[c, 3] = 100.0
        out[c, 4] = 100.0
        out[c, 5] = 0.0
    s_o = 0.0
    max_o = -1.0
    arg_o = 0
    s_c = 0.0
    min_c = 1e300
    arg_c = 0
    s_a = 0.0
    min_a = 1e300
    arg_a = 0
    for i in range(a, b):
        p = abs(pose[i, 0]) / 180.0 * 100.0
        y = abs(pose[i, 1]) / 180.0 * 100.0
        r = abs(pose[i, 2]) / 180.0 * 100.0
        o = math.sqrt(p * p + y * y + r * r)
        s_o += o
        if o > max_o:
            max_o = o
            arg_o = i - a
        inside = [0.0, 0.0, 0.0, 0.0, 0.0]
        for j in range(5):
            x = kps[i, 2 * j]
            yy = kps[i, 2 * j + 1]
            inside[j] = 1.0 if (x >= 0.0 and x < w and yy >= 0.0 and yy < h) else 0.0
        eyes = inside[0] + inside[1]
        nose = inside[2]
        mouth = inside[3] + inside[4]
        comp = 0.3 * 100.0 * eyes / 2.0 + 0.4 * 100.0 * nose + 0.3 * 100.0 * mouth / 2.0
        s_c += comp
        if comp < min_c:
            min_c = comp
            arg_c = i - a
        area = 100.0 * (box[i, 2] - box[i, 0]) * (box[i, 3] - box[i, 1]) / (w * h)
        s_a += area
        if area < min_a:
            min_a = area
            arg_a = i - a
    out[c, 6] = 100.0 - s_o / k
    out[c, 7] = 100.0 - max_o
    out[c, 8] = arg_o
    out[c, 9] = s_c / k
    out[c, 10] = min_c
    out[c, 11] = arg_c
    out[c, 12] = 30.0 * (s_a / k)
    out[c, 13] = 30.0 * min_a
    out[c, 14] = arg_a


def pack(clips: list[ClipFaces]) -> tuple[np.ndarray, ...]:
    """CSR arrays of Note [Head score kernels]: kps (F, 10), pose (F, 3), box (F, 4), face_off (C+1,),
    bad (C,), w (C,), h (C,), all float64 / int64."""
    counts = [len(c.kps) for c in clips]
    off = np.zeros(len(clips) + 1, np.int64)
    off[1:] = np.cumsum(counts)
    cat = lambda xs, d: np.concatenate(xs).astype(np.float64) if xs else np.zeros((0, d))  # noqa: E731
    kps = cat([np.asarray(c.kps, np.float64).reshape(-1, 10) for c in clips], 10)
    pose = cat([np.asarray(c.pose, np.float64).reshape(-1, 3) for c in clips], 3)
    box = cat([np.asarray(c.box, np.float64).reshape(-1, 4) for c in clips], 4)
    bad = np.array([int(np.sum(np.asarray(c.face_counts) != 1)) for c in clips], np.int64)
    w = np.array([c.width for c in clips], np.float64)
    h = np.array([c.height for c in clips], np.float64)
    return kps, pose, box, off, bad, w, h


def head_scores_cpu(clips: list[ClipFaces]) -> np.ndarray:
    """(C, 17) float64 with the Numba CPU kernel."""
    kps, pose, box, off, bad, w, h = pack(clips)
    out = np.zeros((len(clips), NCOL), np.float64)
    if clips:
        from ._scores_jit import run_cpu

        run_cpu(kps, pose, box, off, bad, w, h, out)
    return out


def head_scores_cuda(clips: list[ClipFaces]) -> np.ndarray:
    """(C, 17) float64 with the Numba CUDA kernel (a GPU, or NUMBA_ENABLE_CUDASIM=1)."""
    from numba import cuda

    from ._scores_jit import run_cuda

    arrays = pack(clips)
    out = np.zeros((len(clips), NCOL), np.float64)
    if not clips:
        return out
    dev = [
        cuda.to_device(np.ascontiguousarray(x if x.size else np.zeros((1, *x.shape[1:]), x.dtype)))
        for x in arrays
    ]
    d_out = cuda.to_device(out)
    threads = 64
    blocks = (len(clips) + threads - 1) // threads
    run_cuda()[blocks, threads](*dev, d_out)
    return d_out.copy_to_host()
