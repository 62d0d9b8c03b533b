"""Frame-by-frame comparisons of a generated clip with its ground truth: PSNR, SSIM, landmark distance.

Note [Frame metrics]: both clips are 512² RGB uint8 at 25 fps, frame t against frame t.
- PSNR per frame = 10 log10(255² / MSE) over all pixels and channels; the clip's PSNR is the mean over frames;
  an identical frame (MSE 0) counts as 100 dB so that the mean stays finite.
- SSIM per frame: scikit-image's `structural_similarity` with Wang et al.'s settings (Gaussian window
  σ = 1.5, population covariances, K1 0.01, K2 0.03, data range 255), per RGB channel and averaged; the clip's
  SSIM is the mean over frames.
- LMD: Face Mesh landmarks (x, y in 512² crop pixels, `talkvid_fast.head`) of both frames; per frame the mean
  Euclidean distance over the mouth's 40 lip landmarks (M-LMD) and over all 468 (F-LMD); the clip's value
  is the mean over frames where both have a face (frames without one are counted and left out).
"""

from __future__ import annotations

import numpy as np

PSNR_IDENTICAL = 100.0

#: MediaPipe's FACEMESH_LIPS landmarks (outer and inner lip contours)
MOUTH = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
)  # fmt: skip


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) PSNR in dB of uint8 frames (T, H, W, C) a against b."""
    if a.shape != b.shape:
        raise ValueError(f"frame shapes differ: {a.shape} vs {b.shape}")
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = (d * d).reshape(len(a), -1).mean(1)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(255.0**2 / mse)
    return np.where(mse == 0, PSNR_IDENTICAL, out)


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) SSIM of uint8 RGB frames (T, H, W, 3), Note [Frame metrics]."""
    from skimage.metrics import structural_similarity

    if a.shape != b.shape:
        raise ValueError(f"frame shapes differ: {a.shape} vs {b.shape}")
    return np.array(
        [
            structural_similarity(
                x,
                y,
                channel_axis=-1,
                data_range=255,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
            for x, y in zip(a, b, strict=True)
        ],
        np.float64,
    )


def landmark_distance(gen: np.ndarray, ref: np.ndarray) -> tuple[float | None, float | None, int]:
    """(M-LMD, F-LMD, frames used) from (T, 468, >=2) landmarks, NaN rows = no face in that frame."""
    g, r = np.asarray(gen, np.float64)[..., :2], np.asarray(ref, np.float64)[..., :2]
    if g.shape != r.shape:
        raise ValueError(f"landmark shapes differ: {g.shape} vs {r.shape}")
    ok = np.isfinite(g).all((1, 2)) & np.isfinite(r).all((1, 2))
    if not ok.any():
        return None, None, 0
    dist = np.linalg.norm(g[ok] - r[ok], axis=-1)  # (T', 468)
    return float(dist[:, list(MOUTH)].mean()), float(dist.mean()), int(ok.sum())
