"""Measure each component's rate on this device and predict the end-to-end RTF (Note [Throughput model]).

    python -m talkvid_fast.rtf.components --video SOURCE.mp4 [--device cuda] [--streams 1,2,4,7]
        [--out DIR] [--quick]

Writes `components_<device>.json` and `.md` to --out: every rate measured (decode with 1..N concurrent streams,
the stage-1 histogram kernel, the view kernel, the host scene detector, DOVER / CoTracker3 / facemesh at their
batch sizes and precisions, x264), then the throughput prediction built from them under the stated
assumptions (video fps, mean clip seconds, funnel fractions, head sampling rate), which the JSON records.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import _components as cm
from ._throughput import Component, predict, render


def _detector_rate(min_seconds: float) -> cm.Rate:
    """scenedetect's HistogramDetector step on precomputed features (what the host does per frame)."""
    from ..segment import SceneCollector

    rng = np.random.default_rng(0)
    feats = [f / np.linalg.norm(f) for f in rng.random((256, 256)).astype(np.float32)]
    collector = SceneCollector("histogram", {"threshold": 0.085, "min_scene_len": 15})
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds or n == 0:
        for f in feats:
            collector.add_histogram(n, n, f)
            n += 1
    elapsed = time.perf_counter() - start
    return cm.Rate("scene_detector_host", "frames", n / elapsed, n, elapsed)


def measure_all(args: argparse.Namespace) -> list[cm.Rate]:
    device = torch.device(args.device)
    short = 0.3 if args.quick else 2.0
    rates: list[cm.Rate] = []

    def run(fn: Any, *a: Any) -> None:
        try:
            rates.append(fn(*a))
        except Exception as exc:  # one component failing must not lose the others' figures
            rates.append(cm.Rate(getattr(fn, "__name__", "?"), "", not_run=f"{type(exc).__name__}: {exc}"))
        print(f"  {rates[-1].name}: {rates[-1].per_second:.1f} {rates[-1].unit}/s {rates[-1].not_run or ''}")

    decode_device = torch.device(args.decode_device or args.device)
    for n in args.streams:
        run(cm.measure_decode, args.video, n, decode_device)
    run(cm.measure_scan_histogram, device, short)
    run(cm.measure_nv12_to_rgb, device, (384, 512), short)
    run(_detector_rate, short)
    precisions = ["fp32"] if device.type == "cpu" else ["fp32", "bf16", "fp16"]
    batches = (1, 1, 1) if args.quick else (args.dover_batch, args.cotracker_batch, args.facemesh_batch)
    if args.quick and device.type == "cpu":  # DOVER and CoTracker take minutes a call on a small CPU
        for name, unit in (("dover_fp32", "clips"), ("cotracker3_online_fp32", "windows")):
            rates.append(cm.Rate(name, unit, not_run="--quick on the CPU: too slow to time here"))
    else:
        for p in precisions:
            run(cm.measure_dover, device, batches[0], p, short)
            run(cm.measure_cotracker, device, batches[1], p, short)
    for p in precisions:
        run(cm.measure_facemesh, device, batches[2], p, short)
    run(cm.measure_x264, args.video, 24 if args.quick else 120)
    return rates


def prediction(rates: list[cm.Rate], args: argparse.Namespace) -> tuple[list[Component], dict[str, Any]]:
    """Components from the best measured rate of each kind, under the stated assumptions."""
    ok = {r.name: r for r in rates if r.not_run is None and r.per_second > 0}
    fps, clip_s, f_filters, f_export = args.fps, args.clip_seconds, args.filter_fraction, args.export_fraction
    gpu = "gpu" if args.device.startswith("cuda") else "cpu"
    comps: list[Component] = []
    decodes = [r for n, r in ok.items() if n.startswith("decode_")]
    if decodes:
        best = max(decodes, key=lambda r: r.per_second)
        on_nvdec = best.name.startswith("decode_nvdec")
        comps.append(Component(best.name, "nvdec" if on_nvdec else "cpu", best.per_second / fps))
    if "scan_histogram_1080p" in ok:
        comps.append(Component("scan_histogram", gpu, ok["scan_histogram_1080p"].per_second / fps))
    if "nv12_to_rgb_1080p_to_384x512" in ok:  # every frame converted once for the views (an upper bound)
        comps.append(Component("views", gpu, ok["nv12_to_rgb_1080p_to_384x512"].per_second / fps, f_filters))
    if "scene_detector_host" in ok:
        comps.append(Component("scene detector", "cpu", ok["scene_detector_host"].per_second / fps))

    def fastest(prefix: str) -> cm.Rate | None:
        found = [r for n, r in ok.items() if n.startswith(prefix)]
        return max(found, key=lambda r: r.per_second) if found else None

    if (r := fastest("dover_")) is not None:
        comps.append(Component(r.name, gpu, r.per_second * clip_s, f_filters))
    if (r := fastest("cotracker3_online_")) is not None:  # a paper window advances 8 frames at 25 fps
        comps.append(Component(r.name, gpu, r.per_second * 8 / 25, f_filters))
    if (r := fastest("facemesh_")) is not None:  # the head stage samples args.head_fps frames per second
        comps.append(Component(r.name, gpu, r.per_second / args.head_fps, f_filters))
    if (r := fastest("x264_")) is not None:
        comps.append(Component(r.name, "cpu", r.per_second / fps, f_export, units=args.encode_workers))
    assumptions = {
        "video_fps": fps,
        "clip_seconds": clip_s,
        "filter_fraction": f_filters,
        "export_fraction": f_export,
        "head_fps": args.head_fps,
        "encode_workers": args.encode_workers,
    }
    return comps, assumptions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m talkvid_fast.rtf.components", description=__doc__)
    p.add_argument("--video", type=Path, required=True, help="an H.264 source (decode and x264 rates)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--streams", default="1", help="comma list of concurrent decode streams to time")
    p.add_argument(
        "--decode-device", default=None, help="where to decode (default --device; cpu: PyAV, cuda: NVDEC)"
    )
    p.add_argument("--out", type=Path, default=Path("bench/results"))
    p.add_argument("--quick", action="store_true", help="short timings, batch 1 (a dry run)")
    p.add_argument("--dover-batch", type=int, default=8)
    p.add_argument("--cotracker-batch", type=int, default=8)
    p.add_argument("--facemesh-batch", type=int, default=64)
    p.add_argument("--fps", type=float, default=25.0, help="assumed video frame rate")
    p.add_argument("--clip-seconds", type=float, default=8.0, help="assumed mean clip length")
    p.add_argument("--filter-fraction", type=float, default=0.8, help="assumed share of video past stage 1")
    p.add_argument("--export-fraction", type=float, default=0.3, help="assumed share of video exported")
    p.add_argument("--head-fps", type=float, default=1.0, help="head stage frames sampled per video second")
    p.add_argument("--encode-workers", type=int, default=8)
    args = p.parse_args(argv)
    try:
        args.streams = [int(s) for s in str(args.streams).split(",") if s]
    except ValueError:
        print(f"error: --streams must be a comma list of integers, got {args.streams!r}", file=sys.stderr)
        return 2
    if not args.video.is_file():
        print(f"error: --video {args.video} does not exist", file=sys.stderr)
        return 2
    from ._env import environment

    env = environment()
    print(f"components on {args.device}:")
    rates = measure_all(args)
    comps, assumptions = prediction(rates, args)
    pred = predict(comps) if comps else None
    tag = "cuda" if args.device.startswith("cuda") else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "environment": env,
        "rates": [r.__dict__ for r in rates],
        "assumptions": assumptions,
        "prediction": pred.to_dict() if pred else None,
    }
    (args.out / f"components_{tag}.json").write_text(json.dumps(result, indent=1, default=str))
    lines = [
        f"# Component rates on {env.get('device', args.device)}",
        "",
        "| component | rate | unit/s | note |",
    ]
    lines.append("|---|---|---|---|")
    lines += [
        f"| {r.name} | {r.per_second:.1f} | {r.unit} | {r.not_run or r.settings or ''} |" for r in rates
    ]
    lines += ["", f"assumptions: {assumptions}", ""]
    lines.append(
        render(pred, None, str(env.get("device", ""))) if pred else "no component ran: no prediction"
    )
    (args.out / f"components_{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
