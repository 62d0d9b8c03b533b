"""YUV 4:2:0 -> RGB with a bilinear resize, as plain NumPy (reference of kernels/color_convert.cuh)."""

from __future__ import annotations

import numpy as np

KR_KB = {601: (0.299, 0.114), 709: (0.2126, 0.0722)}


def yuv420_to_rgb(
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    out_size: tuple[int, int],
    matrix: int = 709,
    full_range: bool = False,
) -> np.ndarray:
    """y: uint8 (H, W); u, v: uint8 (ceil(H/2), ceil(W/2)); returns uint8 (out_h, out_w, 3) RGB.

    1. every pixel takes the chroma sample of its 2x2 block and is converted with the BT.601/709 matrix
       (limited range: Y' = (Y - 16) * 255/219, C' = (C - 128) * 255/224);
    2. the RGB image is resized bilinearly: source coordinate (dst + 0.5) * in / out - 0.5, clamped;
    3. rounded to nearest, clamped to [0, 255].
    """
    kr, kb = KR_KB[matrix]
    kg = 1.0 - kr - kb
    h, w = y.shape
    cb = u.astype(np.float64).repeat(2, 0).repeat(2, 1)[:h, :w] - 128.0
    cr = v.astype(np.float64).repeat(2, 0).repeat(2, 1)[:h, :w] - 128.0
    if full_range:
        yy, cs = y.astype(np.float64), 1.0
    else:
        yy, cs = (y.astype(np.float64) - 16.0) * 255.0 / 219.0, 255.0 / 224.0
    cb, cr = cb * cs, cr * cs
    rgb = np.stack(
        [
            yy + 2 * (1 - kr) * cr,
            yy - 2 * kb * (1 - kb) / kg * cb - 2 * kr * (1 - kr) / kg * cr,
            yy + 2 * (1 - kb) * cb,
        ],
        axis=-1,
    )
    out_h, out_w = out_size
    fy = np.clip((np.arange(out_h) + 0.5) * h / out_h - 0.5, 0, None)
    fx = np.clip((np.arange(out_w) + 0.5) * w / out_w - 0.5, 0, None)
    y0 = np.minimum(fy.astype(np.int64), h - 1)
    x0 = np.minimum(fx.astype(np.int64), w - 1)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    wy = np.minimum(fy - y0, 1.0)[:, None, None]
    wx = np.minimum(fx - x0, 1.0)[None, :, None]
    top = rgb[y0][:, x0] * (1 - wx) + rgb[y0][:, x1] * wx
    bottom = rgb[y1][:, x0] * (1 - wx) + rgb[y1][:, x1] * wx
    out = top * (1 - wy) + bottom * wy
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
