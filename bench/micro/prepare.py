"""Throughput of `python -m talkvid_fast.prepare` on this machine: clips/s and RTF, by part.

Makes a small run (stage 1 + the facemesh head filter, spans only) over test media, prepares its passing clips
in one trainer layout, and writes bench/results/prepare_<device>.{json,md}. TalkVid's own preprocessing
(`src/data_preprocess`) is not timed beside it: it needs InsightFace's buffalo_l models (no public download
here) and onnxruntime's CUDA provider.

    python bench/micro/prepare.py [--format vexpress] [--device cpu] [--runtime onnxruntime] [--media ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEDIA = ("positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4", "positives/retalking__face1.mp4")


def main() -> None:
    sys.path.insert(0, str(REPO))
    from talkvid_fast.prepare._driver import prepare_run
    from talkvid_fast.prepare._layouts import DEFAULT_FPS
    from talkvid_fast.prepare._source import PrepareParams
    from talkvid_fast.rtf import environment

    p = argparse.ArgumentParser()
    p.add_argument("--format", default="vexpress")
    p.add_argument("--device", default="cpu")
    p.add_argument("--runtime", default=None, help="face models' engine (onnxruntime: export it first)")
    p.add_argument("--media", nargs="*", default=list(MEDIA))
    p.add_argument("--testmedia", default=str(REPO.parent / "shared" / "testmedia"))
    p.add_argument("--work", default=None, help="working folder (default: a temporary one)")
    args = p.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="prepare-bench-"))
    inputs = work / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    for name in args.media:
        link = inputs / Path(name).name
        if not link.exists():
            link.symlink_to(Path(args.testmedia) / name)
    run = work / "run"
    cmd = [sys.executable, "-m", "talkvid_fast.run", "--input", str(inputs), "--output", str(run),
           "--stages", "segment,head", "--export", "spans", "--no-progress", "--no-report"]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True)
    load_before = os.getloadavg()
    params = PrepareParams(
        format=args.format, fps=DEFAULT_FPS[args.format], device=args.device, runtime=args.runtime
    )
    summary = prepare_run(run, work / args.format, params, fresh=True, log=print).as_dict()
    env = environment()
    res = {"environment": env, "media": args.media, "format": args.format, "device": args.device, "runtime": args.runtime,
           "load_average_before": load_before, "load_average_after": os.getloadavg(), **summary}  # fmt: skip
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"prepare_{'cuda' if args.device.startswith('cuda') else 'cpu'}"
    name += f"_{args.runtime}" if args.runtime else ""
    (out / f"{name}.json").write_text(json.dumps(res, indent=2))
    t = summary["timings"]
    md = [
        f"# prepare, {args.format} at {params.fps:g} fps, {params.size} px, on {args.device}, face models on "
        f"{args.runtime or 'torch'}",
        "",
        f"Device: {env['device']}; git {env['git']}; torch {env['torch']}; {env['date']}; load average "
        f"{load_before[0]:.1f} before, {res['load_average_after'][0]:.1f} after (a shared machine: CPU time is the "
        "steadier figure)",
        "",
        f"Clips: {summary['prepared']} prepared of {summary['clips']} passing ({', '.join(args.media)}), "
        f"{summary['video_seconds']} s of output video.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| clips/s (wall) | {summary['clips_per_second']} |",
        f"| RTF: s of output video per wall s | {summary['rtf']} |",
        f"| RTF: s of output video per CPU s (all threads) | {summary['rtf_cpu']} |",
        f"| wall s: whole invocation | {summary['seconds']} |",
        f"| CPU s: whole invocation (all threads) | {summary['cpu_seconds']} |",
        f"| wall s: per source (decode + everything below) | {t.get('source')} |",
        f"| wall s: face models (BlazeFace + Face Mesh, every output frame) | {t.get('faces')} |",
        f"| wall s: crop (face warp) + x264 | {t.get('crop_encode')} |",
        f"| wall s: audio features, Hallo masks | {t.get('side_files')} |",
        "",
        "TalkVid's preprocessing is not run beside it: it needs InsightFace's buffalo_l models and a CUDA GPU.",
    ]
    (out / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
