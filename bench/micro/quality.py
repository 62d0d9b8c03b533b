"""Quality stage (DOVER) benchmark: model clips/s with random weights, FLOPs per clip, sampling cost per clip.

Writes bench/results/quality_cpu.json (or quality_cuda.json) and the matching .md table.
Usage: python bench/micro/quality.py [--device cpu|cuda] [--threads N] [--reps N] [--batch N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
MEDIA = REPO.parent / "shared" / "testmedia"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, device: torch.device, reps: int) -> float:
    fn()  # warm-up
    _sync(device)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def flops_per_clip(model) -> dict[str, float]:
    """FLOPs (2 x MAC, matmul + conv, FlopCounterMode) of one technical and one aesthetic 32x224x224 clip."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, 32, 224, 224, device="meta")
    meta = model.to("meta")
    out = {}
    for name, fn in (("technical", meta.technical), ("aesthetic", meta.aesthetic)):
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            fn(x)
        out[name] = float(counter.get_total_flops())
    return out


def sampling_cost(device: torch.device) -> list[dict[str, object]]:
    """Per positive test clip: decode (PyAV, all frames), plan, technical gather, aesthetic resize + normalise."""
    from talkvid_fast.quality.sampling import aesthetic_view, make_plan, resize_aesthetic, technical_view
    from tests.conftest import decode_rgb

    rows = []
    for path in sorted((MEDIA / "positives").glob("*.mp4")):
        t = time.perf_counter()
        frames = decode_rgb(path)
        t_decode = time.perf_counter() - t
        n, h, w, _ = frames.shape
        t = time.perf_counter()
        plan = make_plan(f"{path.stem}-scene1", n, h, w)
        t_plan = time.perf_counter() - t
        tech = torch.from_numpy(frames[plan.tech_indices]).to(device)
        aes = torch.from_numpy(frames[plan.aes_indices]).to(device)
        t_gather = _median_time(lambda tech=tech, plan=plan: technical_view(tech, plan), device, 3)
        t_resize = _median_time(lambda aes=aes: resize_aesthetic(aes), device, 3)
        small = resize_aesthetic(aes)
        t_norm = _median_time(lambda small=small: aesthetic_view(small), device, 3)
        rows.append(
            {
                "file": path.name,
                "frames": n,
                "size": f"{w}x{h}",
                "decode_all_s": t_decode,
                "plan_ms": 1e3 * t_plan,
                "tech_gather_ms": 1e3 * t_gather,
                "aes_resize_ms": 1e3 * t_resize,
                "aes_normalise_ms": 1e3 * t_norm,
            }
        )
    return rows


def main() -> None:
    sys.path.insert(0, str(REPO))
    from talkvid_fast.quality.model import DOVER

    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1, help="clips per forward for each branch")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = DOVER().eval().to(device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    x = torch.randn(args.batch, 3, 32, 224, 224, device=device)
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda"):
        t_tech = _median_time(lambda: model.technical(x), device, args.reps) / args.batch
        t_aes = _median_time(lambda: model.aesthetic(x), device, args.reps) / args.batch
    flops = flops_per_clip(DOVER().eval())
    video_s = 3 * t_tech + t_aes
    sampling = sampling_cost(device)
    from talkvid_fast.rtf import environment

    env = environment()
    result = {
        "environment": env,
        "threads": args.threads,
        "batch": args.batch,
        "precision": "fp16 autocast" if device.type == "cuda" else "fp32",
        "technical_clip_s": t_tech,
        "aesthetic_clip_s": t_aes,
        "technical_clips_per_s": 1 / t_tech,
        "aesthetic_clips_per_s": 1 / t_aes,
        "videos_per_s": 1 / video_s,
        "gflops_technical_clip": flops["technical"] / 1e9,
        "gflops_aesthetic_clip": flops["aesthetic"] / 1e9,
        "gflops_per_video": (3 * flops["technical"] + flops["aesthetic"]) / 1e9,
        "achieved_gflops_per_s": (3 * flops["technical"] + flops["aesthetic"]) / 1e9 / video_s,
        "sampling": sampling,
    }
    out = REPO / "bench" / "results" / f"quality_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    gather = np.median([r["tech_gather_ms"] for r in sampling]) if sampling else float("nan")
    resize = np.median([r["aes_resize_ms"] for r in sampling]) if sampling else float("nan")
    md = [
        f"# Quality stage (DOVER) on {device.type} ({args.threads} threads, {result['precision']}, random weights)",
        "",
        f"Device: {env['device']}; git {env['git']}; torch {env['torch']}; {env['date']}",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| technical clip (32x224x224 fragments), s | {t_tech:.2f} |",
        f"| aesthetic clip (32x224x224), s | {t_aes:.2f} |",
        f"| videos/s (3 technical + 1 aesthetic clips) | {1 / video_s:.4f} |",
        f"| GFLOPs per technical / aesthetic clip | {flops['technical'] / 1e9:.1f} / {flops['aesthetic'] / 1e9:.1f} |",
        f"| GFLOPs per video | {result['gflops_per_video']:.0f} |",
        f"| achieved GFLOP/s | {result['achieved_gflops_per_s']:.1f} |",
        f"| fragment gather per video (96 frames -> 3x3x32x224x224, native op), ms, median over test media | {gather:.1f} |",
        f"| aesthetic 224x224 antialiased resize per video (32 frames), ms, median | {resize:.1f} |",
        "",
        "Sampling per test clip (ms; decode of all frames with PyAV in s, for scale):",
        "",
        "| file | frames | size | decode all (s) | gather | resize | normalise |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    md += [
        f"| {r['file']} | {r['frames']} | {r['size']} | {r['decode_all_s']:.2f} | {r['tech_gather_ms']:.1f} | "
        f"{r['aes_resize_ms']:.1f} | {r['aes_normalise_ms']:.1f} |"
        for r in sampling
    ]
    (out.with_suffix(".md")).write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
