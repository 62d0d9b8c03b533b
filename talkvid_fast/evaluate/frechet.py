"""The Fréchet distance between two Gaussians fitted to feature sets (FID on Inception pool3, FVD on I3D).

Note [Fréchet numerics]: d² = ‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1 Σ2)^½), the square root by
`scipy.linalg.sqrtm` as pytorch-fid's `calculate_frechet_distance` does: when the product's root is not
finite (singular covariances: fewer samples than dimensions), ε I (ε = 1e-6) is added to both covariances
and the root taken again; a complex result whose diagonal has an imaginary part above 1e-3 is an error (the
product is far from positive semi-definite), a smaller one is numerical noise and its real part is used.
Covariances are the unbiased sample covariances (`np.cov`, ddof 1), as pytorch-fid and StyleGAN-V compute them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

EPS = 1e-6
IMAG_ATOL = 1e-3


@dataclass(frozen=True)
class GaussianStats:
    mu: np.ndarray  #: (D,) float64
    sigma: np.ndarray  #: (D, D) float64
    n: int  #: feature vectors the statistics were fitted to


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Mean and unbiased covariance of (N, D) features; needs N >= 2."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"Fréchet statistics need (N >= 2, D) features, got shape {x.shape}")
    return GaussianStats(x.mean(0), np.cov(x, rowvar=False), len(x))


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = EPS
) -> float:
    """d² between N(mu1, sigma1) and N(mu2, sigma2) (Note [Fréchet numerics])."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes differ: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # a singular product is expected (N < D) and handled just below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAG_ATOL):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrtm(Σ1 Σ2)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def frechet_of_features(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = gaussian_stats(a), gaussian_stats(b)
    return frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma)
