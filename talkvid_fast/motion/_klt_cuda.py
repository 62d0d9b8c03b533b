"""Numba CUDA kernels of the `klt` tracker (see klt_cuda.py and Note [KLT on CUDA]; compiled on first launch).

Pyramids are stored packed: level l of frame f is `pyr[f, off[l] : off[l] + h[l] * w[l]]` (uint8, row
major) and its Scharr derivatives `deriv[f, off[l] + y * w[l] + x, 0 | 1]` (int16, dx | dy), as OpenCV keeps
them (the image with a reflect-101 border, the derivatives with a zero border).
"""

# mypy: ignore-errors
# (Numba CUDA kernels: untyped Python by design)
from __future__ import annotations

import math

from numba import cuda, float32, int16, int32

MAX_WIN = 31  #: largest LK window the per-thread patch buffers hold
_MAX_AREA = MAX_WIN * MAX_WIN
_W_BITS = 14  # OpenCV's fixed-point bilinear weights: 14 bits
_ONE = 1 << _W_BITS
_FLT_SCALE = 1.0 / (1 << 20)
_FLT_EPSILON = 1.1920928955078125e-07


# Note: the Numba simulator pays ~25 us per device-function call and ~6 us per array read, so the hot
# loops below inline their border logic (reflect-101: i -> -i below 0, 2n-2-i from n; frames must exceed
# the window, which the wrapper checks, so one reflection always lands inside) and read each pixel once.


@cuda.jit
def gray_kernel(frames, pyr):
    # uint8 (F, H, W, 3) RGB -> level 0 of pyr (uint8 (F, total)); OpenCV's fixed-point BT.601 (15 bits)
    n_f, h, w, _ = frames.shape
    n = n_f * h * w
    for idx in range(cuda.grid(1), n, cuda.gridsize(1)):
        f = idx // (h * w)
        r = idx - f * h * w
        y = r // w
        x = r - y * w
        v = int(frames[f, y, x, 0]) * 9798 + int(frames[f, y, x, 1]) * 19235 + int(frames[f, y, x, 2]) * 3735
        pyr[f, r] = (v + 16384) >> 15


@cuda.jit
def pyrdown_kernel(pyr, src_off, sh, sw, dst_off, dh, dw):
    # cv2.pyrDown: 5x5 binomial (1 4 6 4 1)^2 / 256, reflect-101 border, rounded, exact in integers
    n = pyr.shape[0] * dh * dw
    for idx in range(cuda.grid(1), n, cuda.gridsize(1)):
        f = idx // (dh * dw)
        r = idx - f * dh * dw
        y = r // dw
        x = r - y * dw
        s = 0
        for i in range(5):
            yy = 2 * y + i - 2
            yy = -yy if yy < 0 else yy
            yy = 2 * sh - 2 - yy if yy >= sh else yy
            row = 0
            for j in range(5):
                xx = 2 * x + j - 2
                xx = -xx if xx < 0 else xx
                xx = 2 * sw - 2 - xx if xx >= sw else xx
                wj = 6 if j == 2 else (4 if j == 1 or j == 3 else 1)
                row += wj * int(pyr[f, src_off + yy * sw + xx])
            s += (6 if i == 2 else (4 if i == 1 or i == 3 else 1)) * row
        pyr[f, dst_off + r] = (s + 128) >> 8


@cuda.jit
def scharr_kernel(pyr, deriv, off, h, w):
    # OpenCV's calcSharrDeriv: (3 10 3) smoothing x (-1 0 1) difference, reflect-101 border, int16
    n = pyr.shape[0] * h * w
    for idx in range(cuda.grid(1), n, cuda.gridsize(1)):
        f = idx // (h * w)
        r = idx - f * h * w
        y = r // w
        x = r - y * w
        ym = off + (y - 1 if y > 0 else 1) * w
        y0 = off + y * w
        yp = off + (y + 1 if y < h - 1 else h - 2) * w
        xm = x - 1 if x > 0 else 1
        xp = x + 1 if x < w - 1 else w - 2
        am, ac, ap = int(pyr[f, ym + xm]), int(pyr[f, ym + x]), int(pyr[f, ym + xp])
        bm, bp = int(pyr[f, y0 + xm]), int(pyr[f, y0 + xp])
        cm, cc, cp = int(pyr[f, yp + xm]), int(pyr[f, yp + x]), int(pyr[f, yp + xp])
        deriv[f, off + r, 0] = 3 * (ap + cp) + 10 * bp - 3 * (am + cm) - 10 * bm
        deriv[f, off + r, 1] = 3 * (cp - ap + cm - am) + 10 * (cc - ac)


@cuda.jit(device=True)
def _reflect_pair(i, n):
    """Indices i and i + 1 mirrored into 0..n-1 (OpenCV's BORDER_REFLECT_101)."""
    a = -i if i < 0 else (2 * n - 2 - i if i >= n else i)
    b = -i - 1 if i + 1 < 0 else (2 * n - 3 - i if i + 1 >= n else i + 1)
    return a, b


@cuda.jit(device=True)
def _weights(a, b):
    w00 = int32(round((1.0 - a) * (1.0 - b) * _ONE))
    w01 = int32(round(a * (1.0 - b) * _ONE))
    w10 = int32(round((1.0 - a) * b * _ONE))
    return w00, w01, w10, _ONE - w00 - w01 - w10


@cuda.jit(device=True)
def _lk(pyr, deriv, fi, fj, loff, lh, lw, n_lev, px, py, win, iters, eps2, min_eig, ib, gxb, gyb):
    """One point from frame fi to frame fj, coarse to fine: OpenCV's LKTrackerInvoker, level by level."""
    half = (win - 1) * 0.5
    status = True
    nx = 0.0
    ny = 0.0
    for lev in range(n_lev - 1, -1, -1):
        scale = 1.0 / (1 << lev)
        if lev == n_lev - 1:
            nx = px * scale
            ny = py * scale
        else:
            nx = nx * 2.0
            ny = ny * 2.0
        off = loff[lev]
        h = lh[lev]
        w = lw[lev]
        qx = px * scale - half
        qy = py * scale - half
        ix = int32(math.floor(qx))
        iy = int32(math.floor(qy))
        if ix < -win or ix >= w or iy < -win or iy >= h:
            if lev == 0:
                status = False
            continue
        w00, w01, w10, w11 = _weights(qx - ix, qy - iy)
        a11 = 0.0
        a12 = 0.0
        a22 = 0.0
        for yy in range(win):
            y0 = iy + yy
            r0, r1 = _reflect_pair(y0, h)
            r0 = off + r0 * w
            r1 = off + r1 * w
            d0 = off + y0 * w
            in0 = y0 >= 0 and y0 < h
            in1 = y0 + 1 >= 0 and y0 + 1 < h
            for xx in range(win):
                x0 = ix + xx
                c0, c1 = _reflect_pair(x0, w)
                iv = int(pyr[fi, r0 + c0]) * w00 + int(pyr[fi, r0 + c1]) * w01
                iv += int(pyr[fi, r1 + c0]) * w10 + int(pyr[fi, r1 + c1]) * w11
                gx = 0
                gy = 0
                if in0 and x0 >= 0 and x0 < w:  # derivatives: zero outside the level
                    gx += int(deriv[fi, d0 + x0, 0]) * w00
                    gy += int(deriv[fi, d0 + x0, 1]) * w00
                if in0 and x0 + 1 >= 0 and x0 + 1 < w:
                    gx += int(deriv[fi, d0 + x0 + 1, 0]) * w01
                    gy += int(deriv[fi, d0 + x0 + 1, 1]) * w01
                if in1 and x0 >= 0 and x0 < w:
                    gx += int(deriv[fi, d0 + w + x0, 0]) * w10
                    gy += int(deriv[fi, d0 + w + x0, 1]) * w10
                if in1 and x0 + 1 >= 0 and x0 + 1 < w:
                    gx += int(deriv[fi, d0 + w + x0 + 1, 0]) * w11
                    gy += int(deriv[fi, d0 + w + x0 + 1, 1]) * w11
                iv = (iv + (1 << (_W_BITS - 6))) >> (_W_BITS - 5)  # intensity x 32
                gx = (gx + (1 << (_W_BITS - 1))) >> _W_BITS
                gy = (gy + (1 << (_W_BITS - 1))) >> _W_BITS
                k = yy * win + xx
                ib[k] = iv
                gxb[k] = gx
                gyb[k] = gy
                a11 += gx * gx
                a12 += gx * gy
                a22 += gy * gy
        a11 *= _FLT_SCALE
        a12 *= _FLT_SCALE
        a22 *= _FLT_SCALE
        det = a11 * a22 - a12 * a12
        eig = (a22 + a11 - math.sqrt((a11 - a22) * (a11 - a22) + 4.0 * a12 * a12)) / (2.0 * win * win)
        if eig < min_eig or det < _FLT_EPSILON:
            if lev == 0:
                status = False
            continue
        inv = 1.0 / det
        wx = nx - half
        wy = ny - half
        pdx = 0.0
        pdy = 0.0
        for j in range(iters):
            jx = int32(math.floor(wx))
            jy = int32(math.floor(wy))
            if jx < -win or jx >= w or jy < -win or jy >= h:
                if lev == 0:
                    status = False
                break
            v00, v01, v10, v11 = _weights(wx - jx, wy - jy)
            b1 = 0.0
            b2 = 0.0
            for yy in range(win):
                y0 = jy + yy
                r0, r1 = _reflect_pair(y0, h)
                r0 = off + r0 * w
                r1 = off + r1 * w
                for xx in range(win):
                    x0 = jx + xx
                    c0, c1 = _reflect_pair(x0, w)
                    jv = int(pyr[fj, r0 + c0]) * v00 + int(pyr[fj, r0 + c1]) * v01
                    jv += int(pyr[fj, r1 + c0]) * v10 + int(pyr[fj, r1 + c1]) * v11
                    k = yy * win + xx
                    diff = ((jv + (1 << (_W_BITS - 6))) >> (_W_BITS - 5)) - int(ib[k])
                    b1 += diff * int(gxb[k])
                    b2 += diff * int(gyb[k])
            b1 *= _FLT_SCALE
            b2 *= _FLT_SCALE
            dx = (a12 * b2 - a22 * b1) * inv
            dy = (a12 * b1 - a11 * b2) * inv
            wx += dx
            wy += dy
            nx = wx + half
            ny = wy + half
            if dx * dx + dy * dy <= eps2:
                break
            if j > 0 and abs(dx + pdx) < 0.01 and abs(dy + pdy) < 0.01:
                nx -= dx * 0.5
                ny -= dy * 0.5
                break
            pdx = dx
            pdy = dy
    if status:  # OpenCV's final check (made when it computes the error): the window must start inside
        ex = int32(math.floor(nx - half))
        ey = int32(math.floor(ny - half))
        if ex < -win or ex >= lw[0] or ey < -win or ey >= lh[0]:
            status = False
    return float32(nx), float32(ny), status


@cuda.jit
def track_step_kernel(
    pyr, deriv, loff, lh, lw, n_lev, starts, length, f, tracks, fb, win, iters, eps2, min_eig
):
    # one thread per (window, point): the step f-1 -> f of every window holding both frames; records the
    # forward-backward error (+inf once lost), the validity rule is applied afterwards (Note [KLT validity])
    n_win, _, n_k = fb.shape
    ib = cuda.local.array(_MAX_AREA, int16)
    gxb = cuda.local.array(_MAX_AREA, int16)
    gyb = cuda.local.array(_MAX_AREA, int16)
    for idx in range(cuda.grid(1), n_win * n_k, cuda.gridsize(1)):
        w = idx // n_k
        k = idx - w * n_k
        s = starts[w]
        if s >= f or s + length <= f:
            continue
        t = f - s
        px = tracks[w, t - 1, k, 0]
        py = tracks[w, t - 1, k, 1]
        ok = not math.isinf(fb[w, t - 1, k])  # still found (a lost point stays lost)
        fx = px
        fy = py
        err = float32(math.inf)
        if ok:
            fx, fy, st_f = _lk(
                pyr, deriv, f - 1, f, loff, lh, lw, n_lev, px, py, win, iters, eps2, min_eig, ib, gxb, gyb
            )
            bx, by, st_b = _lk(
                pyr, deriv, f, f - 1, loff, lh, lw, n_lev, fx, fy, win, iters, eps2, min_eig, ib, gxb, gyb
            )
            ex = float32(bx - px)
            ey = float32(by - py)
            ok = st_f and st_b
            if ok:
                err = float32(math.sqrt(ex * ex + ey * ey))
        if ok:
            tracks[w, t, k, 0] = fx
            tracks[w, t, k, 1] = fy
        else:
            tracks[w, t, k, 0] = px
            tracks[w, t, k, 1] = py
        fb[w, t, k] = err
