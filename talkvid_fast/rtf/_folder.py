"""`python -m talkvid_fast.rtf folder`: RTF per stage on any folder or manifest of sources, one pass, beside
the official stage 1 on the same sources (the `measure` command is the reproducible one, on a built corpus).

RTF = seconds of input video / wall seconds. Each stage's time comes from the pipeline's own per-source
timings (decode included where the stage decodes); "official stage 1" runs the official method side by
side in the same process on the same sources (see talkvid_fast/_official_stage1.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..inputs import discover
from ..pipeline import RunConfig, Worker, parse_stages
from ..profile import load_profile
from ._env import PAPER, environment, markdown_table, write_results


def add_arguments(p: argparse.ArgumentParser, testmedia: Path) -> None:
    p.add_argument(
        "--corpus", default=str(testmedia), help="folder or manifest of sources (default: test media)"
    )
    p.add_argument("--stages", default="segment", help="stages to time (as for run; default: segment)")
    p.add_argument("--profile", default="paper")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-official", action="store_true", help="skip the official stage 1 side-by-side")
    p.add_argument("--out", default="bench/results", help="folder for <name>.json and <name>.md")
    p.add_argument("--name", default=None, help="result name (default: pipeline_<device>)")


def run_folder(args: argparse.Namespace) -> int:
    inputs = discover(args.corpus)
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(
            profile=load_profile(args.profile),
            output=Path(tmp),
            stages=parse_stages(args.stages),
            device=args.device,
        )
        worker = Worker(config)
        timings: dict[str, float] = {}
        consumed: dict[str, float] = {}  # seconds of video each stage consumed
        video_seconds = 0.0
        started = time.perf_counter()
        for fields in inputs:
            src, _ = worker.process(fields)
            if src["status"] != "ok":
                continue
            video_seconds += src["probe"]["duration"]
            for k, v in src["timings"].items():
                timings[k] = timings.get(k, 0.0) + v
            for k, v in src["stage_input_seconds"].items():
                consumed[k] = consumed.get(k, 0.0) + v
        wall = time.perf_counter() - started
    rows: list[list[Any]] = []
    results: dict[str, Any] = {
        "environment": environment(),
        "corpus": args.corpus,
        "sources": len(inputs),
        "video_seconds": round(video_seconds, 2),
        "stages": {},
        "not_run": worker.unavailable,
    }
    for stage, seconds in sorted(timings.items()):
        rtf = consumed.get(stage, 0.0) / seconds if seconds else None
        results["stages"][stage] = {
            "seconds": round(seconds, 6),  # µs: a small source takes milliseconds
            "video_seconds": round(consumed.get(stage, 0.0), 2),
            "rtf": round(rtf, 2) if rtf else None,
        }
        rows.append(
            [stage, f"{seconds:.2f}", f"{consumed.get(stage, 0.0):.1f}", f"{rtf:.2f}" if rtf else "-", ""]
        )
    rows.append(
        [
            "end to end (this process)",
            f"{wall:.2f}",
            f"{video_seconds:.1f}",
            f"{video_seconds / wall:.2f}",
            "",
        ]
    )
    if not args.no_official:
        from .._official_stage1 import official_stage1

        t = time.perf_counter()
        for fields in inputs:
            try:
                official_stage1(str(fields["video-path"]))
            except Exception as exc:  # the official code crashes on broken inputs; we time what it can run
                print(f"official stage 1 failed on {fields['video-id']}: {exc}", file=sys.stderr)
        wall_official = time.perf_counter() - t
        ours = results["stages"].get("segment", {}).get("seconds")
        results["official_stage1"] = {
            "seconds": round(wall_official, 6),
            "rtf": round(video_seconds / wall_official, 2),
            "speedup_ours_vs_official": round(wall_official / ours, 2) if ours else None,
        }
        rows.append(
            [
                "official stage 1 (scenedetect full frames + x264 every scene)",
                f"{wall_official:.2f}",
                f"{video_seconds:.1f}",
                f"{video_seconds / wall_official:.2f}",
                f"ours {wall_official / ours:.1f}x faster" if ours else "",
            ]
        )
    rows.append(["paper: stage 1 on 96 cores", "-", "-", f"{PAPER['stage1_rtf_96_cores']}", "0.19 per core"])
    table = markdown_table(["stage", "wall s", "video s in", "RTF", "note"], rows)
    env = results["environment"]
    name = args.name or f"pipeline_{'cuda' if env['cuda_device'] else 'cpu'}"
    js, md = write_results(
        name,
        results,
        f"{len(inputs)} sources, {video_seconds:.1f} s of video, profile {args.profile}\n\n{table}",
        Path(args.out),
    )
    print(table)
    print(f"wrote {js} and {md}")
    return 0
