"""Plain NumPy references of DOVER's sampling and fragment gate, written to read like the spec and upstream.

Tests compare the fast paths against these: the native fragment gather (C++ twin / CUDA kernel), the
in-graph fragment bias gate of the Swin blocks, the aesthetic resize and the score closed form.
"""

from __future__ import annotations

import numpy as np


def fragments_ref(
    frames: np.ndarray,
    top: np.ndarray,
    left: np.ndarray,
    patch: int = 32,
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
    std: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """frames uint8 (clips*L, H, W, 3), top/left int (clips, Fh, Fw) -> float32 (clips, 3, L, Fh*P, Fw*P).

    Cell (i, j) of clip c is the P x P patch at (top[c,i,j], left[c,i,j]) of each of the clip's L frames,
    normalised (v - mean) / std in float32."""
    clips, fh, fw = top.shape
    length = frames.shape[0] // clips
    mosaic = np.zeros((clips, length, fh * patch, fw * patch, 3), dtype=np.uint8)
    for c in range(clips):
        for i in range(fh):
            for j in range(fw):
                y, x = int(top[c, i, j]), int(left[c, i, j])
                block = frames[c * length : (c + 1) * length, y : y + patch, x : x + patch]
                mosaic[c, :, i * patch : (i + 1) * patch, j * patch : (j + 1) * patch] = block
    out = (mosaic.astype(np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(out.transpose(0, 4, 1, 2, 3))


def temporal_indices_ref(
    num_frames: int, segments: int, clip_len: int, interval: int, offsets: np.ndarray
) -> list[int]:
    """Spec: `segments` equal segments; in segment k, clip_len frames at stride `interval` from
    k * (T // segments) + offsets[k]; indices modulo T."""
    seg = num_frames // segments
    return [
        (k * seg + int(offsets[k]) + f * interval) % num_frames
        for k in range(segments)
        for f in range(clip_len)
    ]


def fragment_gate_ref(
    size: tuple[int, int, int],
    window: tuple[int, int, int],
    shift: tuple[int, int, int],
    fragments: tuple[int, int, int] = (1, 7, 7),
) -> np.ndarray:
    """Upstream `global_position_index(...).abs().sum(-1)`: int64 (nW, N, N) gate g.

    The (d, h, w) fragment-id grid is nearest-upsampled to the token grid `size`, rolled by -shift,
    window-partitioned, and g[w, i, j] = sum over d, h, w of |id_j - id_i|."""
    d, h, w = size
    grid = np.stack(np.meshgrid(*[np.arange(f) for f in fragments], indexing="ij"))  # (3, Fd, Fh, Fw)
    src = [np.floor(np.arange(n) * (f / n)).astype(np.int64) for n, f in zip(size, fragments, strict=True)]
    coords = (
        grid[:, src[0]][:, :, src[1]][:, :, :, src[2]].transpose(1, 2, 3, 0).astype(np.int16)
    )  # (D, H, W, 3)
    coords = np.roll(coords, (-shift[0], -shift[1], -shift[2]), axis=(0, 1, 2))
    wd, wh, ww = window
    win = coords.reshape(d // wd, wd, h // wh, wh, w // ww, ww, 3).transpose(0, 2, 4, 1, 3, 5, 6)
    win = win.reshape(-1, wd * wh * ww, 3)
    rel = win[:, None, :, :] - win[:, :, None, :]  # (nW, N, N, 3)
    return np.abs(rel).sum(-1)


def _aa_weights(n_in: int, n_out: int) -> np.ndarray:
    """Antialiased bilinear (triangle filter) resampling matrix (n_out, n_in), PIL / torch antialias=True."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    for o in range(n_out):
        center = (o + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        taps = np.arange(lo, hi)
        wts = np.clip(1.0 - np.abs((taps - center + 0.5) / support), 0.0, None)
        m[o, lo:hi] = wts / wts.sum()
    return m


def resize_aa_ref(frames: np.ndarray, size: tuple[int, int] = (224, 224)) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float64 (N, h, w, 3): separable antialiased bilinear resize, not rounded."""
    wy = _aa_weights(frames.shape[1], size[0])
    wx = _aa_weights(frames.shape[2], size[1])
    x = frames.astype(np.float64)
    x = np.einsum("oh,nhwc->nowc", wy, x)
    return np.einsum("pw,nowc->nopc", wx, x)


def appended_zscore_ref(x: float, values: np.ndarray) -> float:
    """The official code's z-score: prepend x to the set, (x - mean) / np.std (population)."""
    s = np.concatenate((np.array([x], dtype=np.float64), values), 0)
    return float(((s - np.mean(s)) / np.std(s))[0])
