"""Fréchet distance against closed forms independent of sqrtm (Note [Fréchet numerics])."""

from __future__ import annotations

import numpy as np
import pytest

from talkvid_fast.evaluate.frechet import frechet_distance, frechet_of_features, gaussian_stats


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def _closed_form_commuting(mu1: np.ndarray, mu2: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Σ1 = Q diag(a) Qᵀ, Σ2 = Q diag(b) Qᵀ: the trace term is Σ (√a − √b)²."""
    return float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))


@pytest.mark.parametrize("tiny", [1.0, 1e-8, 0.0])
def test_diagonal_and_commuting_covariances_match_the_closed_form(tiny: float) -> None:
    rng = np.random.default_rng(1)
    d = 48
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    a, b = rng.uniform(0.1, 4.0, d), rng.uniform(0.1, 4.0, d)
    a[:5] *= tiny  # near-singular (or singular) directions
    b[3:8] *= tiny
    want = _closed_form_commuting(mu1, mu2, a, b)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(want, rel=1e-6, abs=1e-5)
    q = _rotation(d, 2)
    got = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-4)


def test_general_covariances_match_the_eigenvalue_form() -> None:
    """Tr((Σ1 Σ2)^½) = Σ √λ_i(Σ1 Σ2), since Σ1 Σ2 is similar to the PSD Σ1^½ Σ2 Σ1^½."""
    rng = np.random.default_rng(3)
    d = 16
    x, y = rng.normal(size=(d, d)), rng.normal(size=(d, 2 * d))
    s1, s2 = x @ x.T / d, y @ y.T / (2 * d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    lam = np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)
    want = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(lam))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_fewer_samples_than_dimensions_and_identical_sets() -> None:
    """Rank-deficient covariances (N < D, as FID on one clip): finite, ~0 for a set against itself."""
    rng = np.random.default_rng(4)
    feats = rng.normal(size=(10, 40))
    assert frechet_of_features(feats, feats) == pytest.approx(0.0, abs=1e-4)
    shifted = feats + 0.5  # the same cloud moved by 0.5 in every coordinate: d² = 40 * 0.25
    assert frechet_of_features(feats, shifted) == pytest.approx(10.0, abs=1e-3)


def test_unbiased_covariance_and_imaginary_part_check() -> None:
    st = gaussian_stats(np.array([[0.0], [2.0]]))
    assert st.mu[0] == 1.0 and st.sigma.item() == 2.0  # ddof 1, as pytorch-fid's np.cov
    with pytest.raises(ValueError, match="imaginary"):  # not a covariance: sqrtm has a large imaginary part
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_stats(np.zeros((1, 3)))
