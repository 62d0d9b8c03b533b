"""A bar plot of RTF per measurement with the paper's figures beside (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path

from ._harness import Measurement
from ._report import GPU_RTF_TARGETS, LABELS, paper_figures


def plot_rtf(results: dict[str, Measurement], path: Path, title: str) -> Path | None:
    """Writes a PNG; returns None (and says why) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    figs = paper_figures()
    names = [n for n, m in results.items() if m.rtf is not None]
    if not names:
        print("nothing measured: no plot")
        return None
    ours = [results[n].rtf or 0.0 for n in names]
    paper_total = [figs[n].rtf if n in figs else 0.0 for n in names]
    paper_unit = [figs[n].per_unit if n in figs else 0.0 for n in names]
    y = range(len(names))
    fig, ax = plt.subplots(figsize=(10, 0.7 * len(names) + 2.2))
    h = 0.27
    ax.barh([i - h for i in y], ours, h, label="ours (this run)", color="#1f77b4")
    ax.barh(list(y), paper_total, h, label="paper (whole machine: 8x A800 / 96 cores)", color="#bbbbbb")
    ax.barh([i + h for i in y], paper_unit, h, label="paper per GPU / per core", color="#ff7f0e")
    for i, n in enumerate(names):
        ax.annotate(
            f"{ours[i]:.3g}",
            (ours[i], i - h),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
        if n in GPU_RTF_TARGETS:
            ax.plot([GPU_RTF_TARGETS[n]] * 2, [i - 0.45, i + 0.45], "k--", lw=1)
    ax.set_yticks(list(y), [LABELS.get(n, n) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("RTF (video seconds / wall seconds, log scale); dashed: GPU target")
    ax.set_title(title, fontsize=9)
    fig.legend(fontsize=8, loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
