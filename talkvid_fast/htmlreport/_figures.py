"""The report's plots as PNG bytes (matplotlib, Agg): the attrition funnel (the paper's Figure 3) and one
histogram per score with its threshold drawn in (Figure 4's top row)."""

from __future__ import annotations

import io
from typing import Any

from ._thresholds import Line

BLUE, GREY, RED = "#3b6ea5", "#9aa5b1", "#c0392b"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _plt().close(fig)
    return buf.getvalue()


def funnel_png(funnel: list[dict[str, Any]], hours_in: float, clips_in: int) -> bytes:
    """Hours (bars) and clips (labels) left after each gate; stages that did not run are grey."""
    plt = _plt()
    names = ["input", *[f"{s['gate']}{'' if s['ran'] else ' (not run)'}" for s in funnel]]
    hours = [hours_in, *[s["hours"] for s in funnel]]
    clips = [None, *[s["clips"] for s in funnel]]
    colors = [GREY, *[BLUE if s["ran"] else GREY for s in funnel]]
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(names) + 1.2))
    y = list(range(len(names)))
    ax.barh(y, hours, color=colors)
    top = max(hours) if hours and max(hours) > 0 else 1.0
    for i, (h, c) in enumerate(zip(hours, clips, strict=True)):
        text = f"{h:.3f} h" + ("" if c is None else f", {c} clips")
        ax.text(h + top * 0.01, i, text, va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.35)
    ax.set_xlabel("hours of video left (source hours for 'input', clip hours after each gate)")
    ax.set_title("Attrition funnel", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def histogram_png(
    title: str, values: list[float], lines: list[Line], passed: list[bool] | None = None
) -> bytes:
    """Histogram of one score; threshold lines dashed red. With `passed`, clips that passed the stage are
    blue and the others grey, stacked."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.6, 2.5))
    v = np.asarray(values, dtype=float)
    lo, hi = float(v.min()), float(v.max())
    for value, _ in lines:
        lo, hi = min(lo, value), max(hi, value)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 21)
    pad = 0.04 * (hi - lo)  # a threshold at the range's end must not hide under the axis spine
    ax.set_xlim(lo - pad, hi + pad)
    if passed is not None and len(passed) == len(v):
        ok = np.asarray(passed, dtype=bool)
        ax.hist([v[ok], v[~ok]], bins=bins, stacked=True, color=[BLUE, GREY], label=["passed", "rejected"])
        ax.legend(fontsize=6, loc="upper left")
    else:
        ax.hist(v, bins=bins, color=BLUE)
    for value, _ in lines:
        ax.axvline(value, color=RED, ls="--", lw=1.2)
    # the rule goes in the (black) title, so red pixels in the figure are the threshold lines alone
    rule = "; ".join(label for _, label in lines)
    ax.set_title(f"{title} (n={len(v)})" + (f"\n{rule}" if rule else ""), fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_ylabel("clips", fontsize=7)
    fig.subplots_adjust(left=0.15, right=0.97, top=0.84, bottom=0.12)  # tight_layout costs ~0.2 s a plot
    return _png(fig)
