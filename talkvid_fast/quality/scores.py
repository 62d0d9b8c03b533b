"""DOVER scores: raw technical / aesthetic, DOVER's fused score, and the TalkVid DOVER score (models.md §1.7).

Note [TalkVid DOVER score]: TalkVid's `onnx_inference.py` reads output 0 of DOVER's ONNX export as the
technical score, but that output is the *aesthetic* head (the branch swap, DOVER issue #25). It then
z-scores that value against each of five reference sets of DOVER's *technical* ("fragments") predictions,
with the value appended to the set and the population std, averages the five z-scores and rounds to 2
decimals. So the TalkVid score is a function of the aesthetic raw score A alone. With the set's N, mean
mu and population variance s2, appending x gives m' = (N mu + x) / (N + 1),
s'^2 = (N (s2 + mu^2) + x^2) / (N + 1) - m'^2 and z = (x - m') / s' (closed form, float64).
The statistics below are those of the float32 arrays in DOVER's `dover_predictions/val-*.pkl`
(float64 mean and np.std); they agree with models.md's 8-decimal table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceSet:
    """Statistics of one DOVER reference prediction set (`fragments` = technical-view predictions)."""

    name: str
    n: int
    fragments_mean: float
    fragments_std: float  #: population std (np.std)
    resize_mean: float
    resize_std: float


REFERENCE_SETS: tuple[ReferenceSet, ...] = (
    ReferenceSet(
        "livevqc", 585, -0.08271628358743639, 0.03773112440064705, 0.11049705521942615, 0.07354546251945654
    ),
    ReferenceSet(
        "kv1k", 1200, -0.1108095946504424, 0.04164084190730977, 0.04598554707792573, 0.08439196367381438
    ),
    ReferenceSet(
        "ltest", 7186, -0.10476808999578571, 0.04416020929114356, 0.07279286091419833, 0.0888543749482265
    ),
    ReferenceSet(
        "l1080p", 3573, -0.08935492533008733, 0.04157141312401202, 0.12961287230669355, 0.07570864521174059
    ),
    ReferenceSet(
        "ytugc", 1147, -0.10473912158199856, 0.03982320857934691, 0.07920091803335322, 0.08053009319519222
    ),
)


def appended_zscore(x: float, n: int, mean: float, std: float) -> float:
    """z-score of x within a set of n values (mean, population std) after appending x (closed form)."""
    m = (n * mean + x) / (n + 1)
    var = (n * (std * std + mean * mean) + x * x) / (n + 1) - m * m
    return (x - m) / math.sqrt(var)


def talkvid_dover_score(aesthetic: float, sets: tuple[ReferenceSet, ...] = REFERENCE_SETS) -> float:
    """TalkVid's `dover_scores` from the aesthetic raw score A; see Note [TalkVid DOVER score]."""
    mean_z = sum(
        appended_zscore(float(aesthetic), s.n, s.fragments_mean, s.fragments_std) for s in sets
    ) / len(sets)
    return float(f"{mean_z:.2f}")  # the official code's float(f"{...:.2f}")


def fused_score(technical: float, aesthetic: float) -> float:
    """DOVER's ITU-standardised overall score in [0, 1] (`fuse_results`, constants as upstream)."""
    x = (technical - 0.1107) / 0.07355 * 0.6104 + (aesthetic + 0.08285) / 0.03774 * 0.3896
    return 1.0 / (1.0 + math.exp(-x))


def clip_scores(technical: float, aesthetic: float) -> dict[str, float]:
    """Every score recorded for a clip, from the two raw branch outputs (each averaged over its clips)."""
    return {
        "dover_technical_raw": float(technical),
        "dover_aesthetic_raw": float(aesthetic),
        "dover_fused": fused_score(technical, aesthetic),
        "dover_score": talkvid_dover_score(aesthetic),
    }
