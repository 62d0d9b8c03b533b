"""Segmentation accuracy: detected cuts against the corpus's recorded cut points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CutAccuracy:
    truth: int  #: recorded cuts
    detected: int  #: cuts the detector reported
    matched: int  #: detected cuts paired one-to-one with a recorded cut within the tolerance
    tolerance: int  #: frames
    mean_abs_offset: float | None  #: frames, over matched pairs

    @property
    def precision(self) -> float | None:
        return self.matched / self.detected if self.detected else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.truth if self.truth else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = asdict(self)
        for k in ("precision", "recall", "f1"):
            v = getattr(self, k)
            d[k] = round(v, 4) if v is not None else None
        return d


def match_cuts(truth: Sequence[int], detected: Sequence[int], tolerance: int = 2) -> CutAccuracy:
    """Pairs cuts one-to-one in order: a detected cut matches a recorded one at most `tolerance` frames away.

    Both lists are frame numbers of the same source. Sweeping both sorted lists once gives a maximum
    matching as long as recorded cuts are more than 2 * tolerance frames apart (the corpus's shots are
    at least MIN_SHOT_SECONDS long).
    """
    t, d = sorted(truth), sorted(detected)
    i = j = matched = 0
    offsets: list[int] = []
    while i < len(t) and j < len(d):
        gap = d[j] - t[i]
        if abs(gap) <= tolerance:
            matched += 1
            offsets.append(abs(gap))
            i += 1
            j += 1
        elif gap < 0:
            j += 1  # a detection before the next recorded cut: a false positive
        else:
            i += 1  # a recorded cut with no detection near it: a miss
    mean = round(sum(offsets) / len(offsets), 3) if offsets else None
    return CutAccuracy(len(t), len(d), matched, tolerance, mean)


def combine(parts: Sequence[CutAccuracy]) -> CutAccuracy:
    """Totals over sources (micro-averaged precision and recall)."""
    matched = sum(p.matched for p in parts)
    weighted = sum((p.mean_abs_offset or 0.0) * p.matched for p in parts)
    return CutAccuracy(
        sum(p.truth for p in parts),
        sum(p.detected for p in parts),
        matched,
        parts[0].tolerance if parts else 0,
        round(weighted / matched, 3) if matched else None,
    )
