"""Head stage benchmark on CPU: frames/s of detector, landmarks and scores, and the stage RTF on test media.

Writes bench/results/head_cpu.json and bench/results/head_cpu.md (environment: talkvid_fast.rtf.environment()).
Usage: python bench/micro/head.py [--threads N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def _time(fn, reps: int = 3) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def main() -> None:
    import sys

    sys.path.insert(0, str(REPO))
    from talkvid_fast.head._facemesh_backend import FaceMeshBackend
    from talkvid_fast.head.scores_kernels import head_scores_cpu
    from talkvid_fast.head.scores_reference import head_scores
    from talkvid_fast.head.stage import HeadStage
    from tests.head._score_cases import random_clips
    from tests.head.test_stage import _real_clip

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    be = FaceMeshBackend(torch.device("cpu"))
    n = 32
    x_det = torch.rand(n, 192, 192, 3) * 2 - 1
    x_mesh = torch.rand(n, 192, 192, 3)
    with torch.inference_mode():
        t_det = _time(lambda: be.detector(x_det))
        t_mesh = _time(lambda: be.mesh(x_mesh))
    clips = random_clips(0, 2000)
    head_scores_cpu(clips[:2])
    t_numba = _time(lambda: head_scores_cpu(clips))
    t_ref = _time(lambda: [head_scores(c) for c in clips], reps=1)
    stage = HeadStage({"backend": "facemesh", "sampling": "exact"})
    stage.setup()
    media = REPO.parent / "shared" / "testmedia" / "positives"
    total_video, total_wall, per_clip = 0.0, 0.0, []
    for path in sorted(media.glob("*.mp4")):
        clip, frames = _real_clip(path)
        (req,) = stage.requests(clip)
        view = {req.name: torch.from_numpy(frames[req.indices])}
        t = time.perf_counter()
        stage.process([(clip, view)])
        dt = time.perf_counter() - t
        total_video += clip.duration
        total_wall += dt
        per_clip.append(
            {
                "clip": path.name,
                "seconds": round(clip.duration, 2),
                "frames": len(req.indices),
                "wall_s": round(dt, 3),
            }
        )
    from talkvid_fast.rtf import environment

    env = environment()
    res = {
        "environment": env,
        "threads": args.threads,
        "detector_fps": n / t_det,
        "landmarks_fps": n / t_mesh,
        "scores_numba_clips_per_s": len(clips) / t_numba,
        "scores_reference_clips_per_s": len(clips) / t_ref,
        "stage_rtf": total_video / total_wall,
        "stage_video_s": total_video,
        "stage_wall_s": total_wall,
        "per_clip": per_clip,
        "note": "stage RTF excludes decoding (frames decoded beforehand); 1 fps sampling",
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "head_cpu.json").write_text(json.dumps(res, indent=2))
    md = [
        f"# Head stage on CPU ({args.threads} threads)",
        "",
        f"Device: {env['device']}; git {env['git']}; torch {env['torch']}; {env['date']}",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| BlazeFace full range, frames/s (batch {n}) | {res['detector_fps']:.1f} |",
        f"| Face Mesh, crops/s (batch {n}) | {res['landmarks_fps']:.1f} |",
        f"| scores, Numba CPU, clips/s | {res['scores_numba_clips_per_s']:.0f} |",
        f"| scores, NumPy reference, clips/s | {res['scores_reference_clips_per_s']:.0f} |",
        f"| head stage RTF on positives (1 fps, decode excluded) | {res['stage_rtf']:.1f} |",
    ]
    (out / "head_cpu.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
