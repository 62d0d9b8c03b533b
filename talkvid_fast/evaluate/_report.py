"""What the evaluator writes: results.json, results.md (laid out like the paper's Tables 4 and 5: rows
dimension / subgroup, columns metrics), one plot per dimension, and the disparity summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..manifest import write_atomic
from ._aggregate import COLUMNS, Subgroup


def _fmt(v: float | None, key: str) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if key in ("ssim", "lpips") else f"{v:.2f}"


def markdown(
    groups: list[Subgroup],
    metrics: list[str],
    not_run: dict[str, str],
    disparity: list[dict[str, Any]],
    header: str,
) -> str:
    cols = [k for k in COLUMNS if k in metrics]
    lines = [header, "", "| Dimension / subgroup | n | " + " | ".join(COLUMNS[k][0] for k in cols) + " |"]
    lines.append("|---|---:|" + "---:|" * len(cols))
    last = None
    for g in groups:
        if g.dimension != last and g.dimension != "all":
            lines.append(f"| **{g.dimension}** | | " + " | ".join("" for _ in cols) + " |")
            last = g.dimension
        cells = []
        for k in cols:
            ci = g.ci.get(k)
            cell = _fmt(g.values.get(k), k)
            if ci is not None:
                cell += f" [{_fmt(ci[0], k)}, {_fmt(ci[1], k)}]"
            cells.append(cell)
        name = "**all clips**" if g.dimension == "all" else g.group
        lines.append(f"| {name} | {g.clips} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Values with their 95 % bootstrap interval over clips in brackets (Note [Subgroup statistics]).",
        "",
    ]
    if not_run:
        lines += ["Not run:", ""] + [f"- {k}: {v}" for k, v in sorted(not_run.items())] + [""]
    if disparity:
        lines += [
            "## Disparity (best − worst subgroup)",
            "",
            "| Dimension | Metric | Best | Worst | Gap | CIs overlap |",
            "|---|---|---|---|---:|---|",
        ]
        for d in disparity:
            ov = "–" if d["ci_overlap"] is None else ("yes (may be noise)" if d["ci_overlap"] else "no")
            lines.append(
                f"| {d['dimension']} | {COLUMNS[d['metric']][0]} | {d['best']} | {d['worst']} | {_fmt(d['gap'], d['metric'])} | {ov} |"
            )
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, text: str) -> None:
    write_atomic(path, text.encode())


def plot_dimensions(groups: list[Subgroup], metrics: list[str], folder: Path) -> list[Path]:
    """One PNG per dimension: a bar per subgroup for every metric that has values, with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for dim in dict.fromkeys(g.dimension for g in groups):
        rows = [g for g in groups if g.dimension == dim]
        keys = [k for k in COLUMNS if k in metrics and any(g.values.get(k) is not None for g in rows)]
        if not keys:
            continue
        fig, axes = plt.subplots(1, len(keys), figsize=(2.2 + 1.9 * len(keys), 3.2), squeeze=False)
        for ax, key in zip(axes[0], keys, strict=True):
            names = [g.group for g in rows]
            vals = [g.values.get(key) or 0.0 for g in rows]
            err = []
            for v, g in zip(vals, rows, strict=True):
                ci = g.ci.get(key)
                err.append([0.0, 0.0] if ci is None else [max(0.0, v - ci[0]), max(0.0, ci[1] - v)])
            ax.bar(
                range(len(rows)),
                vals,
                yerr=list(zip(*err, strict=True)) if rows else None,
                capsize=3,
                color="#4c72b0",
            )
            ax.set_xticks(range(len(rows)), names, rotation=60, ha="right", fontsize=7)
            ax.set_title(COLUMNS[key][0], fontsize=9)
            ax.tick_params(axis="y", labelsize=7)
        fig.suptitle(dim)
        fig.tight_layout()
        path = folder / f"plot_{dim}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths
