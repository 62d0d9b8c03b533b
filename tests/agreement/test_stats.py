"""Agreement statistics against hand-computed figures (and scikit-learn where it is installed)."""

from __future__ import annotations

import random

import pytest

from talkvid_fast.agreement import Confusion, agreement, cohen_kappa


def test_hand_checked_table_row() -> None:
    # tp=20 fp=5 fn=10 tn=15, n=50. By hand: accuracy 35/50 = 0.7; precision 20/25 = 0.8;
    # recall 20/30 = 2/3; F1 = 2*0.8*(2/3)/(0.8+2/3) = 0.72727...; p_e = (25*30 + 25*20)/50^2 = 0.5,
    # kappa = (0.7-0.5)/(1-0.5) = 0.4
    a = agreement(Confusion(tp=20, fp=5, fn=10, tn=15))
    assert a.n == 50
    assert a.accuracy == pytest.approx(0.7)
    assert a.precision == pytest.approx(0.8)
    assert a.recall == pytest.approx(2 / 3)
    assert a.f1 == pytest.approx(0.7272727, abs=1e-6)
    assert a.kappa == pytest.approx(0.4)


def test_pairs_with_an_undecided_side_count_for_neither() -> None:
    pairs = [(True, True), (True, None), (None, False), (False, False), (True, False), (False, True)]
    assert Confusion.of(pairs) == Confusion(tp=1, fp=1, fn=1, tn=1)
    # p_o = 0.5, p_e = (2*2 + 2*2)/16 = 0.5 -> kappa 0
    assert cohen_kappa(Confusion.of(pairs)) == pytest.approx(0.0)


def test_undefined_figures_are_none() -> None:
    a = agreement(Confusion(tp=7))  # one class on both sides: kappa undefined, no negatives
    assert a.accuracy == 1.0 and a.f1 == 1.0 and a.kappa is None
    b = agreement(Confusion(fn=3, tn=2))  # nothing kept: precision undefined
    assert b.precision is None and b.recall == 0.0 and b.f1 is None
    assert agreement(Confusion()).accuracy is None


def test_against_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn not installed")
    rng = random.Random(3)
    for _ in range(20):
        truth = [rng.random() < 0.6 for _ in range(40)]
        pred = [t if rng.random() < 0.8 else not t for t in truth]
        a = agreement(Confusion.of(zip(pred, truth, strict=True)))
        assert a.accuracy == pytest.approx(metrics.accuracy_score(truth, pred))
        assert a.precision == pytest.approx(metrics.precision_score(truth, pred))
        assert a.recall == pytest.approx(metrics.recall_score(truth, pred))
        assert a.f1 == pytest.approx(metrics.f1_score(truth, pred))
        assert a.kappa == pytest.approx(metrics.cohen_kappa_score(truth, pred))
