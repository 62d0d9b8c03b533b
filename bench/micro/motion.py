"""Motion-stage benchmark: windows/s and RTF of the `klt` tracker and of CoTracker3 (random weights) on CPU
(and of the Numba CUDA `klt` tracker when CUDA is present).

RTF = seconds of video covered / wall seconds. A `paper` window advances 8 frames at 25 fps = 0.32 s of
video, so RTF = windows/s x 0.32 (the 8-frame overlap is counted once). FLOPs per window come from
torch's FlopCounterMode on the meta device (no compute). Writes bench/results/motion_<device>.json and .md.

    python bench/micro/motion.py [--clip PATH] [--cotracker-reps 1] [--skip-cotracker]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from talkvid_fast.motion import cotracker, klt, sampling  # noqa: E402
from talkvid_fast.motion.export import example_inputs  # noqa: E402
from talkvid_fast.rtf import environment  # noqa: E402

SECONDS_PER_WINDOW = 8 / 25.0


def flops_per_window(kind: str, frames: int, queries: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = cotracker.build(kind)
    video, q = example_inputs(frames, queries)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(video.to("meta"), q.to("meta"))
    return float(counter.get_total_flops())


def bench_klt(clip: Path | None, windows: int) -> dict[str, object]:
    if clip is not None and clip.is_file():
        from tests.motion.media import load_view, probe_clip

        c = probe_clip(clip)
        idx = sampling.resample_indices(c, 25.0)[: 8 * windows + 8]
        req = sampling.scaled_size(c.source.height, c.source.width, 512)
        from talkvid_fast.stages import FrameRequest

        frames = load_view(clip, FrameRequest("m", idx, req)).numpy()
        source = str(clip.relative_to(clip.parents[1]))
    else:
        from tests.motion import synthetic

        frames = synthetic.drift(8 * windows + 8)
        source = "synthetic drift 512x640"
    gray = klt.to_gray(frames)
    starts = np.arange(0, len(gray) - 16 + 1, 8)
    pts = sampling.paper_grid(gray.shape[1], gray.shape[2])
    t0 = time.perf_counter()
    klt.track_windows(gray, starts, 16, pts)
    wall = time.perf_counter() - t0
    wps = len(starts) / wall
    result: dict[str, object] = {
        "backend": "klt (OpenCV pyramidal LK, fwd+bwd)",
        "source": source,
        "frame_size": list(gray.shape[1:]),
        "windows": len(starts),
        "seconds": wall,
        "windows_per_s": wps,
        "rtf": wps * SECONDS_PER_WINDOW,
        "note": "tracking only (frames already decoded and resized)",
    }
    if torch.cuda.is_available():
        result["cuda"] = bench_klt_cuda(frames, starts, pts)
    return result


def bench_klt_cuda(frames: np.ndarray, starts: np.ndarray, pts: np.ndarray) -> dict[str, object]:
    """The Numba CUDA tracker on frames already in GPU memory (luma + pyramid + tracking + sync)."""
    from talkvid_fast.motion import klt_cuda

    dev = torch.from_numpy(frames).cuda()
    klt_cuda.track_windows_cuda(dev, starts, 16, pts)  # compiles the kernels
    torch.cuda.synchronize()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        klt_cuda.track_windows_cuda(dev, starts, 16, pts)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    wall = float(np.median(times))
    wps = len(starts) / wall
    return {
        "backend": "klt (Numba CUDA pyramidal LK, fwd+bwd)",
        "gpu": torch.cuda.get_device_name(),
        "seconds": wall,
        "windows_per_s": wps,
        "rtf": wps * SECONDS_PER_WINDOW,
    }


def bench_cotracker(kind: str, frames: int, queries: int, reps: int) -> dict[str, object]:
    torch.manual_seed(0)
    model = cotracker.build(kind).eval()
    video, q = example_inputs(frames, queries)
    with torch.no_grad():
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(video, q)
            times.append(time.perf_counter() - t0)
    wall = float(np.median(times))
    flops = flops_per_window(kind, frames, queries)
    return {
        "backend": f"cotracker3-{kind} torch-cpu fp32, random weights, iters 6",
        "shape": {"video": [1, frames, 3, 384, 512], "queries": [1, queries, 3]},
        "seconds_per_window": wall,
        "windows_per_s": 1 / wall,
        "rtf": SECONDS_PER_WINDOW / wall if frames == 16 else None,
        "gflops_per_window": flops / 1e9,
        "achieved_gflops_per_s": flops / 1e9 / wall,
        "threads": torch.get_num_threads(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--clip", type=Path, default=REPO.parent / "shared/testmedia/positives/retalking__face1.mp4"
    )
    ap.add_argument("--klt-windows", type=int, default=12)
    ap.add_argument("--cotracker-reps", type=int, default=1)
    ap.add_argument("--skip-cotracker", action="store_true")
    args = ap.parse_args()

    result: dict[str, object] = {
        "environment": environment(),
        "cpus": torch.get_num_threads(),
        "klt": bench_klt(args.clip, args.klt_windows),
        "flops": {
            "paper_window_gflops (online, 16x384x512, 256 queries)": flops_per_window("online", 16, 256)
            / 1e9,
            "official_segment_gflops (offline, 12x384x512, 10000 queries)": flops_per_window(
                "offline", 12, 10000
            )
            / 1e9,
        },
    }
    if not args.skip_cotracker:
        result["cotracker_paper_window"] = bench_cotracker("online", 16, 256, args.cotracker_reps)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "motion_cpu.json").write_text(json.dumps(result, indent=2) + "\n")
    k = result["klt"]
    assert isinstance(k, dict)
    lines = [
        "# Motion stage on CPU",
        "",
        f"torch {torch.__version__}, {result['cpus']} threads, git {result['git']}",
        "",
        "| tracker | windows/s | RTF | GFLOP/window | note |",
        "|---|---:|---:|---:|---|",
        f"| klt | {k['windows_per_s']:.2f} | {k['rtf']:.2f} | - | {k['source']}, {k['frame_size']} |",
    ]
    kc = k.get("cuda")
    if isinstance(kc, dict):
        lines.append(f"| klt, Numba CUDA | {kc['windows_per_s']:.2f} | {kc['rtf']:.2f} | - | {kc['gpu']} |")
    ct = result.get("cotracker_paper_window")
    if isinstance(ct, dict):
        lines.append(
            f"| CoTracker3 online (random weights) | {ct['windows_per_s']:.4f} | {ct['rtf']:.4f} | "
            f"{ct['gflops_per_window']:.0f} | {ct['achieved_gflops_per_s']:.1f} GFLOP/s achieved |"
        )
    flops = result["flops"]
    assert isinstance(flops, dict)
    lines += ["", *[f"- {name}: {v:.0f} GFLOP" for name, v in flops.items()], ""]
    (out / "motion_cpu.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
