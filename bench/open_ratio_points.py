"""Evidence for `[motion] ratio_points` (Note [Ratio points] in talkvid_fast/motion/ratio_reference.py): the
stability ratio counted on the central grid (the paper's) and on the background (the border lattice of
`camera_points = "border"`), on every labelled clip of the shared test media, with `open`'s klt parameters,
reported on the calibration and check halves of `open_calibration.py`'s fixed split, separately.

Each clip is tracked once (the central grid and the border lattice together, as the stage tracks them with
`camera_points = "border"`); every ratio rule is then read from the same tracks. Spans and frames as
`open_calibration.py` (longest labelled-cut-free span, trimmed, at most 20 s). Tracks are cached under
--cache so the report can be rewritten without tracking again. Writes bench/results/open_ratio_points_cpu.{json,md}.

    python bench/open_ratio_points.py [--testmedia ../shared/testmedia] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from open_calibration import CALIBRATION_REPOS, clip_of, span, views_of  # noqa: E402

from talkvid_fast.motion import klt, sampling  # noqa: E402
from talkvid_fast.motion.ratio_reference import camera_motion, region_ratios  # noqa: E402
from talkvid_fast.motion.stage import MotionStage  # noqa: E402
from talkvid_fast.profile import load_profile  # noqa: E402


def track(stage: MotionStage, path: Path, entry: dict[str, Any]) -> dict[str, np.ndarray]:
    """The stage's frames and points of one clip (centre grid, then border lattice), tracked by OpenCV klt."""
    p = stage.params
    start, end = span(entry)
    clip = clip_of(path, start, end)
    (req,) = stage.requests(clip)
    frames = views_of(path, clip, [req])[req.name].numpy()
    plan = sampling.plan_windows(clip, p.fps, p.window, p.stride)
    h, w = frames.shape[1:3]
    centre = sampling.paper_grid(h, w, p.crop, p.grid)
    border = sampling.border_grid(h, w, p.crop, p.grid, p.klt_win_size // 2 + 1)
    kp = p.klt()
    tracks, fb = klt.track_windows_fb(
        klt.to_gray(frames), plan.starts, plan.length, np.concatenate([centre, border]), kp
    )
    return {"tracks": tracks, "fb": fb, "size": np.array([h, w]), "k": np.array(len(centre))}


def measures(stage: MotionStage, cached: dict[str, np.ndarray]) -> dict[str, Any]:
    """Both rules' ratios and `open`'s verdict under each (ratio gate, border camera speed, motion)."""
    p = stage.params
    h, w = (int(v) for v in cached["size"])
    k = int(cached["k"])
    kp = klt.KltParams(validity=p.klt_validity, max_drift=p.klt_max_drift, max_fb_error=p.klt_max_fb_error)
    tracks, conf = cached["tracks"], klt.confidence(cached["fb"], kp)
    speed, motion = camera_motion(tracks[:, :, :k], conf[:, :, :k], p.min_conf)
    border_speed = camera_motion(tracks[:, :, k:], conf[:, :, k:], p.min_conf)[0]
    speed = speed if math.isnan(border_speed) else border_speed  # camera_points = "border"
    out: dict[str, Any] = {"camera_speed": speed, "motion": motion}
    for rule in ("centre", "either"):
        ratios, on, means = region_ratios(tracks, conf, k, h, w, rule, p.min_conf, p.max_disp)
        ratio = float(ratios.mean())
        gates = {
            "ratio": p.gate_min <= ratio <= p.gate_max,
            "camera_speed": speed <= p.max_camera_speed,  # NaN fails
            "motion": motion >= p.min_motion,
        }
        out[rule] = {"ratio": ratio, "on": on, "failed": [g for g, ok in gates.items() if not ok]}
        out.update({f"ratio_{r}": v for r, v in means.items()})
    # the border alone (not offered; the evidence against it): its ratio with the same other gates
    alone = out["ratio_border"]
    others = [g for g in out["either"]["failed"] if g != "ratio"]
    out["border"] = {"ratio": alone, "failed": (["ratio"] if alone < p.gate_min else []) + others}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--testmedia", default=str(REPO.parent / "shared" / "testmedia"))
    ap.add_argument("--only", nargs="*", default=None, help="clip file stems to score")
    ap.add_argument("--cache", default="/tmp/open_ratio_points")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()
    media, cache = Path(args.testmedia), Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    labels = json.loads((media / "labels.json").read_text())
    repos = {m["file"]: m["repo"] for m in json.loads((media / "manifest.json").read_text())}
    stage = MotionStage(
        {**load_profile("open").section("motion"), "camera_points": "border", "ratio_points": "centre"}
    )
    stage.setup()
    rows = []
    for entry in labels:
        path = media / entry["file"]
        if path.suffix not in (".mp4", ".avi", ".mpg") or (args.only and path.stem not in args.only):
            continue
        lab = {k: entry["labels"][k]["value"] for k in ("keep", "camera_stable")}
        row: dict[str, Any] = {
            "name": path.stem,
            "part": "calibration" if repos[entry["file"]] in CALIBRATION_REPOS else "check",
            **lab,
        }
        f = cache / f"{path.stem}.npz"
        t0 = time.perf_counter()
        try:
            if not f.exists():
                np.savez(f, allow_pickle=False, **track(stage, path, entry))
            with np.load(f) as z:
                row.update(measures(stage, dict(z)))
        except Exception as exc:  # a broken or too short file is a row, not a crash
            row["error"] = f"{type(exc).__name__}: {exc}"
        print(path.stem, f"{time.perf_counter() - t0:.1f}s", flush=True)
        rows.append(row)
    (Path(args.out) / "open_ratio_points_cpu.json").write_text(json.dumps(rows, indent=1, default=str))
    (Path(args.out) / "open_ratio_points_cpu.md").write_text(report(rows, stage))
    print(report(rows, stage))


def _v(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _verdict(r: dict[str, Any]) -> str:
    return "pass" if not r["failed"] else "**" + ",".join(r["failed"]) + "**"


def agreement(rows: list[dict[str, Any]], rule: str) -> str:
    """TP/FP/FN/TN and F1 of the motion verdict against `camera_stable` (positive = stable; others skipped)."""
    tp = fp = fn = tn = 0
    for r in rows:
        lab = r["camera_stable"]
        if "error" in r or lab not in (True, False):
            continue
        ok = not r[rule]["failed"]
        tp, fp, fn, tn = (
            tp + (ok and lab),
            fp + (ok and not lab),
            fn + (not ok and lab),
            tn + (not ok and not lab),
        )
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return f"{tp}/{fp}/{fn}/{tn}, F1 {100 * f1:.1f} %, accuracy {100 * (tp + tn) / max(1, tp + fp + fn + tn):.1f} %"


def report(rows: list[dict[str, Any]], stage: MotionStage) -> str:
    p = stage.params
    lines = [
        "# `open`'s stability ratio: central grid or either region (`[motion] ratio_points`)",
        "",
        "Written by `python bench/open_ratio_points.py` (Note [Ratio points], docs/motion.md). Each labelled clip's",
        "longest labelled-cut-free span (trimmed 0.3/0.1 s, at most 20 s), `open`'s klt (`drift`, 12 px) tracking the",
        "central 16 x 16 grid and the border lattice once; every rule is read from the same tracks. Split fixed by",
        "source repository (`open_calibration.py` CALIBRATION_REPOS); the rule was chosen on the calibration half",
        'before the check half was looked at. Camera speed read on the border (`camera_points = "border"`).',
        "",
        f"Device: {platform.processor() or platform.machine()} CPU, torch {torch.__version__}; gates: ratio >= "
        f"{p.gate_min}, camera speed (border) <= {p.max_camera_speed} px/frame, motion >= {p.min_motion} px.",
        "",
    ]
    for part in ("calibration", "check"):
        lines += [f"### {part} half", ""]
        lines += [
            "| clip | keep | camera_stable | centre ratio | border ratio | camera speed | "
            "verdict, centre | verdict, either (region) |",
            "|---|---|---|---:|---:|---:|---|---|",
        ]
        part_rows = [r for r in rows if r["part"] == part]
        for r in part_rows:
            if "error" in r:
                lines.append(f"| {r['name']} | {r['keep']} | {r['camera_stable']} | {r['error']} | | | | |")
                continue
            lines.append(
                f"| {r['name']} | {r['keep']} | {r['camera_stable']} | {_v(r['ratio_centre'])} | "
                f"{_v(r.get('ratio_border'))} | {_v(r['camera_speed'])} | {_verdict(r['centre'])} | "
                f"{_verdict(r['either'])} ({r['either']['on']}) |"
            )
        lines += ["", "camera_stable TP/FP/FN/TN (positive = stable; uncertain skipped):", ""]
        lines += [f'- `ratio_points = "{r}"`: {agreement(part_rows, r)}' for r in ("centre", "either")]
        lines += [f"- the border's ratio alone (not offered): {agreement(part_rows, 'border')}"]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
