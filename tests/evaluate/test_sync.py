"""The Sync protocol (Note [Sync protocol]) on embeddings whose distances are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from talkvid_fast.evaluate.sync import sync_scores, sync_windows

SQRT2 = float(np.sqrt(2.0))


def _embeddings(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Audio window m = basis vector e_m; video window i = e_(i−k) (audio leads by k), or an unused basis
    vector when i − k is outside the audio: distances are 0 (same), √2 (distinct) or 1 (zero padding)."""
    d = 3 * n
    a = np.eye(d)[:n]
    v = np.stack([np.eye(d)[i - k] if 0 <= i - k < n else np.eye(d)[2 * n + i] for i in range(n)])
    return v, a


def _expected_mdist(n: int, k: int, vshift: int = 15) -> np.ndarray:
    out = []
    for j in range(2 * vshift + 1):  # offset index j: audio window m = i + j − vshift
        d = []
        for i in range(n):
            m = i + j - vshift
            if not 0 <= m < n:
                d.append(1.0)
            elif 0 <= i - k < n and m == i - k:
                d.append(0.0)
            else:
                d.append(SQRT2)
        out.append(np.mean(d))
    return np.array(out)


@pytest.mark.parametrize("k", [0, 3, -5, 15])
def test_known_offset_gives_exact_scores(k: int) -> None:
    n = 40
    v, a = _embeddings(n, k)
    s = sync_scores(v, a)
    want = _expected_mdist(n, k)
    # torch's pairwise_distance adds eps = 1e-6 to the difference: distances move by at most ~1e-5
    np.testing.assert_allclose(s.mdist, want, atol=2e-5)
    assert s.offset == k
    assert s.sync_d == pytest.approx(want.min(), abs=2e-5)
    assert s.sync_c == pytest.approx(np.sort(want)[15] - want.min(), abs=2e-5)  # median of 31 values
    assert s.windows == n


def test_windows_follow_upstream_lengths() -> None:
    assert sync_windows(125, 80_000) == 120  # 5 s at 25 fps with 5 s of 16 kHz audio
    assert sync_windows(125, 64_000) == 95  # audio shorter: floor(64000 / 640) - 5
    v, a = _embeddings(40, 2)
    s = sync_scores(v, a, windows=20)
    np.testing.assert_allclose(s.mdist, _expected_mdist(20, 2), atol=2e-5)
    with pytest.raises(ValueError, match="windows"):
        sync_scores(v, a[:10], windows=20)
