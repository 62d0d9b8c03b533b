"""Pass-1 scan speed: the old per-frame conversion vs Note [Scan conversion]'s modes, interleaved.

python bench/micro/scan_convert.py [--reps 2] [--corpus /tmp/rtf_small2] -> bench/results/scan_convert_cpu.{json,md}
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from fractions import Fraction
from pathlib import Path

import cv2

from talkvid_fast.decode import DecodeError, PyAVDecoder
from talkvid_fast.rtf import environment
from talkvid_fast.segment import small_size

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ("before", "full", "auto")  # `swscale` (direct resize) was measured once and rejected


def scan_before(dec: PyAVDecoder, small: tuple[int, int] | None) -> int:
    """The scan loop as it was: a new swscale context per frame, full BGR, cv2.resize."""
    dec._container.seek(0)
    if small == (dec.metadata.coded_width, dec.metadata.coded_height):
        small = None
    tb = dec._stream.time_base or Fraction(1, 90_000)
    n = 0
    for frame in dec._decode():
        if frame.pts is None:
            continue
        bgr = frame.to_ndarray(format="bgr24")
        if small is not None:
            cv2.resize(bgr, small, interpolation=cv2.INTER_LINEAR)
        float(frame.pts * tb)
        n += 1
    return n


def run(path: str, variant: str) -> tuple[float, int, str]:
    with PyAVDecoder(path, scan_mode="full" if variant == "before" else variant) as dec:
        size = small_size(dec.metadata.coded_width, dec.metadata.coded_height)
        t = time.perf_counter()
        if variant == "before":
            n, mode = scan_before(dec, size), "before"
        else:
            n = len(dec.scan(size, lambda i, k, im: None).times)
            mode = dec.last_scan_mode
        return time.perf_counter() - t, n, mode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testmedia", default=str(ROOT.parent / "shared" / "testmedia"))
    ap.add_argument(
        "--corpus", default="", help="an RTF corpus folder (python -m talkvid_fast.rtf build-corpus)"
    )
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    sets = {"testmedia": sorted(glob.glob(os.path.join(args.testmedia, "*", "*.mp4")))}
    if args.corpus:
        sets["corpus"] = sorted(glob.glob(os.path.join(args.corpus, "*.mp4")))
    results: dict = {}
    for name, files in sets.items():
        wall = dict.fromkeys(VARIANTS, 0.0)
        frames = dict.fromkeys(VARIANTS, 0)
        seconds = 0.0
        per_file = {}
        for path in files:
            try:
                with PyAVDecoder(path) as dec:
                    duration = dec.metadata.header_duration
            except DecodeError:
                continue
            seconds += duration * args.reps
            row: dict = {}
            for _ in range(args.reps):  # interleaved: every variant once per round
                for v in VARIANTS:
                    dt, n, mode = run(path, v)
                    wall[v] += dt
                    frames[v] += n
                    row.setdefault(v, [0.0, mode])[0] += dt
            per_file[os.path.basename(path)] = {v: {"wall_s": r[0], "mode": r[1]} for v, r in row.items()}
        results[name] = {
            "video_s": seconds,
            "variants": {
                v: {"wall_s": wall[v], "rtf": seconds / wall[v], "fps": frames[v] / wall[v]} for v in VARIANTS
            },
            "files": per_file,
        }
    meta = environment()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scan_convert_cpu.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    lines = [
        "# scan_convert_cpu",
        "",
        f"{meta['device']}, shared; git {meta['git']}; reps {args.reps}, variants interleaved.",
        "`before`: per-frame swscale context, full BGR, cv2.resize. `full`: shared context (bit-identical).",
        "`auto`: rows mode where verified (bit-identical).",
        "",
        "| set | video s | " + " | ".join(f"{v} RTF (fps)" for v in VARIANTS) + " | auto vs before |",
        "|---|---|" + "---|" * len(VARIANTS) + "---|",
    ]
    for name, r in results.items():
        cells = [f"{r['variants'][v]['rtf']:.2f} ({r['variants'][v]['fps']:.0f})" for v in VARIANTS]
        gain = r["variants"]["auto"]["rtf"] / r["variants"]["before"]["rtf"]
        lines.append(f"| {name} | {r['video_s']:.1f} | " + " | ".join(cells) + f" | {gain:.2f}x |")
    (out / "scan_convert_cpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    for name, r in results.items():
        for f, row in r["files"].items():
            print(name, f, {v: f"{x['wall_s']:.2f}s/{x['mode']}" for v, x in row.items()})


if __name__ == "__main__":
    main()
