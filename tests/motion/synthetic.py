"""Synthetic videos with known motion, for the known-answer tests of the motion stage."""

from __future__ import annotations

import cv2
import numpy as np


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 (H, W, 3): band-limited random texture (trackable everywhere)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, size=(height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.uint8)


def shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Image content moved by (dx, dy) px, bilinear, border reflected."""
    m = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float64)
    return cv2.warpAffine(
        img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def still(n: int, height: int = 512, width: int = 640) -> np.ndarray:
    """uint8 (n, H, W, 3): the same frame n times (a frozen video)."""
    return np.repeat(texture(height, width)[None], n, axis=0)


def drift(n: int, height: int = 512, width: int = 640, speed: float = 0.4, patch: int = 48) -> np.ndarray:
    """Smooth sub-pixel drift of the whole frame plus a small changing region (a 'mouth').

    The region (patch x patch px, centre of the frame) is re-drawn every frame, so the few grid points on it
    cannot be tracked, as on a talking face; everything else moves rigidly by `speed` px/frame.
    """
    base = texture(height, width)
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        f = shifted(base, speed * i, 0.5 * speed * i)
        y0, x0 = height // 2 - patch // 2, width // 2 - patch // 2
        f[y0 : y0 + patch, x0 : x0 + patch] = rng.integers(0, 256, size=(patch, patch, 3), dtype=np.uint8)
        out.append(f)
    return np.stack(out)


def jitter(n: int, height: int = 512, width: int = 640, amplitude: float = 30.0) -> np.ndarray:
    """Camera shake: the frame jumps by `amplitude` px in a random direction every frame."""
    base = texture(height, width)
    rng = np.random.default_rng(2)
    out = []
    for _ in range(n):
        a = rng.uniform(0, 2 * np.pi)
        out.append(shifted(base, amplitude * np.cos(a), amplitude * np.sin(a)))
    return np.stack(out)
