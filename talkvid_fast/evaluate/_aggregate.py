"""Per-subgroup values, bootstrap confidence intervals and the disparity summary.

Note [Subgroup statistics]: a subgroup's FID (FVD) is the Fréchet distance between the pooled features of
its generated clips and those of its ground-truth clips (as the paper's per-subgroup tables); every other
metric is the mean of its clips' values (the AV offset as the mean |offset|). The 95 % interval is the
percentile bootstrap over the subgroup's clips (resampled with replacement, `bootstrap` times, generator
seeded; none below 2 clips): means are recomputed on each resample; FID/FVD only with `bootstrap_frechet`
> 0 (a 2048² matrix square root per resample). The disparity of a metric in a dimension is best minus worst subgroup (by the
metric's direction) as an absolute gap, with whether the two intervals overlap (overlap: the gap may be noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .frechet import frechet_of_features

#: metric -> (table heading, True when higher is better)
COLUMNS: dict[str, tuple[str, bool]] = {
    "fid": ("FID↓", False),
    "fvd": ("FVD↓", False),
    "sync_c": ("Sync-C↑", True),
    "sync_d": ("Sync-D↓", False),
    "av_offset": ("|AV offset|↓", False),
    "m_lmd": ("M-LMD↓", False),
    "f_lmd": ("F-LMD↓", False),
    "psnr": ("PSNR↑", True),
    "ssim": ("SSIM↑", True),
    "lpips": ("LPIPS↓", False),
}
FRECHET = ("fid", "fvd")
MIN_CLIPS_FOR_CI = 2  #: one clip has no spread to resample: no interval (and no overlap verdict)


@dataclass
class Subgroup:
    dimension: str
    group: str
    clips: int
    values: dict[str, float | None] = field(default_factory=dict)
    ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)


def _per_clip(results: list[Any], key: str) -> np.ndarray:
    vals = [r.values.get(key) for r in results]
    arr = np.array([np.nan if v is None else float(v) for v in vals], np.float64)
    return np.abs(arr) if key == "av_offset" else arr


def _pooled(results: list[Any], key: str, idx: np.ndarray) -> float | None:
    pairs = [getattr(results[int(i)], key) for i in idx]
    pairs = [p for p in pairs if p is not None]
    if not pairs:
        return None
    gen, ref = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
    return frechet_of_features(gen, ref) if len(gen) >= 2 and len(ref) >= 2 else None


def subgroup(
    dimension: str,
    group: str,
    results: list[Any],
    metrics: list[str],
    rng: np.random.Generator,
    bootstrap: int,
    bootstrap_frechet: int,
) -> Subgroup:
    sg = Subgroup(dimension, group, len(results))
    all_idx = np.arange(len(results))
    for key in metrics:
        if key in FRECHET:
            sg.values[key] = _pooled(results, key, all_idx) if results else None
            draws = (
                [
                    _pooled(results, key, rng.integers(0, len(results), len(results)))
                    for _ in range(bootstrap_frechet)
                ]
                if len(results) >= MIN_CLIPS_FOR_CI and sg.values[key] is not None
                else []
            )
            ok = [d for d in draws if d is not None]
            sg.ci[key] = (float(np.percentile(ok, 2.5)), float(np.percentile(ok, 97.5))) if ok else None
            continue
        x = _per_clip(results, key)
        x = x[np.isfinite(x)]
        sg.values[key] = float(x.mean()) if len(x) else None
        if len(x) >= MIN_CLIPS_FOR_CI and bootstrap > 0:
            means = x[rng.integers(0, len(x), (bootstrap, len(x)))].mean(1)
            sg.ci[key] = (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)))
        else:
            sg.ci[key] = None
    return sg


def disparity(groups: list[Subgroup], metrics: list[str]) -> list[dict[str, Any]]:
    """Per dimension and metric: best and worst subgroup, the gap |best − worst|, whether their CIs overlap."""
    out = []
    for dim in dict.fromkeys(g.dimension for g in groups):
        rows = [g for g in groups if g.dimension == dim]
        for key in metrics:
            have = [g for g in rows if g.values.get(key) is not None]
            if len(have) < 2:
                continue
            higher = COLUMNS[key][1]
            ordered = sorted(have, key=lambda g: float(g.values[key] or 0.0), reverse=higher)
            best, worst = ordered[0], ordered[-1]
            cb, cw = best.ci.get(key), worst.ci.get(key)
            overlap = None if cb is None or cw is None else bool(cb[0] <= cw[1] and cw[0] <= cb[1])
            out.append(
                {
                    "dimension": dim,
                    "metric": key,
                    "best": best.group,
                    "worst": worst.group,
                    "gap": abs(float(best.values[key] or 0.0) - float(worst.values[key] or 0.0)),
                    "ci_overlap": overlap,
                }
            )
    return out
