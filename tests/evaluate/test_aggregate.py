"""Subgroup statistics (Note [Subgroup statistics]): pooled Fréchet, means, bootstrap intervals, disparity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from talkvid_fast.evaluate._aggregate import disparity, subgroup
from talkvid_fast.evaluate.frechet import frechet_of_features


@dataclass
class R:
    values: dict[str, Any] = field(default_factory=dict)
    fid: tuple[np.ndarray, np.ndarray] | None = None
    fvd: tuple[np.ndarray, np.ndarray] | None = None


def test_means_intervals_and_pooled_frechet() -> None:
    rng = np.random.default_rng(0)
    feats = [(rng.normal(size=(20, 3)), rng.normal(1.0, 1.0, size=(20, 3))) for _ in range(4)]
    psnr = [30.0, 32.0, 34.0, None]  # one clip without a value
    results = [
        R({"psnr": p, "av_offset": o}, fid=f) for p, o, f in zip(psnr, [2, -2, 0, 1], feats, strict=True)
    ]
    sg = subgroup("age", "0-19", results, ["psnr", "av_offset", "fid"], np.random.default_rng(1), 2000, 0)
    assert sg.clips == 4 and sg.values["psnr"] == pytest.approx(32.0)
    assert sg.values["av_offset"] == pytest.approx(1.25)  # mean |offset|
    lo, hi = sg.ci["psnr"]  # type: ignore[misc]
    assert 30.0 <= lo < 32.0 < hi <= 34.0
    pooled = frechet_of_features(np.concatenate([f[0] for f in feats]), np.concatenate([f[1] for f in feats]))
    assert sg.values["fid"] == pytest.approx(pooled)  # pooled features, not the mean of per-clip FIDs
    assert sg.ci["fid"] is None  # no Fréchet bootstrap unless asked
    sg = subgroup("age", "0-19", results, ["fid"], np.random.default_rng(1), 0, 20)
    assert sg.ci["fid"] is not None and sg.ci["fid"][0] <= sg.ci["fid"][1]
    empty = subgroup("age", "60+", [], ["psnr", "fid"], np.random.default_rng(1), 100, 0)
    assert empty.values == {"psnr": None, "fid": None}


def test_disparity_follows_each_metric_direction() -> None:
    rng = np.random.default_rng(2)
    a = subgroup("g", "a", [R({"psnr": 30.0, "sync_d": 7.0})] * 3, ["psnr", "sync_d"], rng, 100, 0)
    b = subgroup("g", "b", [R({"psnr": 25.0, "sync_d": 9.0})] * 3, ["psnr", "sync_d"], rng, 100, 0)
    c = subgroup("g", "c", [R({"psnr": 28.0, "sync_d": 6.0})] * 3, ["psnr", "sync_d"], rng, 100, 0)
    out = {d["metric"]: d for d in disparity([a, b, c], ["psnr", "sync_d"])}
    assert (out["psnr"]["best"], out["psnr"]["worst"], out["psnr"]["gap"]) == ("a", "b", 5.0)  # higher better
    assert (out["sync_d"]["best"], out["sync_d"]["worst"], out["sync_d"]["gap"]) == ("c", "b", 3.0)  # lower
    assert out["psnr"]["ci_overlap"] is False  # constant clips: point intervals far apart


def test_bootstrap_interval_matches_the_normal_approximation() -> None:
    """Percentile bootstrap of a mean of n clips: half-width ≈ 1.96 σ / √n (σ the population std)."""
    x = np.arange(30.0, 46.0)  # 16 clips
    sg = subgroup("d", "g", [R({"psnr": v}) for v in x], ["psnr"], np.random.default_rng(3), 4000, 0)
    lo, hi = sg.ci["psnr"]  # type: ignore[misc]
    assert (hi - lo) / 2 == pytest.approx(1.96 * x.std() / np.sqrt(len(x)), rel=0.1)
    assert lo < x.mean() < hi


def test_one_clip_has_no_interval() -> None:
    sg = subgroup("d", "g", [R({"psnr": 30.0})], ["psnr"], np.random.default_rng(0), 100, 0)
    assert sg.values["psnr"] == 30.0 and sg.ci["psnr"] is None
    other = subgroup("d", "h", [R({"psnr": 20.0})] * 3, ["psnr"], np.random.default_rng(0), 100, 0)
    assert disparity([sg, other], ["psnr"])[0]["ci_overlap"] is None  # unknown, not "no overlap"
