"""Binary agreement statistics: confusion counts, accuracy, precision, recall, F1 and Cohen's kappa.

Note [Positive class]: "positive" is "keep" on the criterion (a stable camera, a frontal face, good quality),
so precision is the share of clips a filter kept that the labels call good and recall the share of good clips
it kept, as in the TalkVid paper's Table 7. Undecided labels ("uncertain", "borderline", a "fair" grade) are
None and count for neither side: pairs with a None on either side are left out before counting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Confusion:
    """Counts of (prediction, truth) pairs; `tp` = both keep, `fp` = predicted keep, labelled reject."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @classmethod
    def of(cls, pairs: Iterable[tuple[bool | None, bool | None]]) -> Confusion:
        """From (predicted, truth) pairs; pairs with None on either side are skipped."""
        tp = fp = fn = tn = 0
        for pred, truth in pairs:
            if pred is None or truth is None:
                continue
            if pred and truth:
                tp += 1
            elif pred:
                fp += 1
            elif truth:
                fn += 1
            else:
                tn += 1
        return cls(tp, fp, fn, tn)

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(frozen=True)
class Agreement:
    """The figures of one Table 7 row; None where a figure is undefined (no positives, one class only)."""

    n: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    kappa: float | None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def cohen_kappa(c: Confusion) -> float | None:
    """(p_o - p_e) / (1 - p_e) with p_e from the two raters' marginals; None when p_e = 1 (one class only)."""
    n = c.n
    if n == 0:
        return None
    p_o = (c.tp + c.tn) / n
    p_e = ((c.tp + c.fp) * (c.tp + c.fn) + (c.fn + c.tn) * (c.fp + c.tn)) / (n * n)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def agreement(c: Confusion) -> Agreement:
    precision = _ratio(c.tp, c.tp + c.fp)
    recall = _ratio(c.tp, c.tp + c.fn)
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return Agreement(
        n=c.n,
        accuracy=_ratio(c.tp + c.tn, c.n),
        precision=precision,
        recall=recall,
        f1=f1,
        kappa=cohen_kappa(c),
    )


def mean_defined(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values (the "average" row), None if none is defined."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
