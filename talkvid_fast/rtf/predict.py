"""Measured against predicted: the throughput model (Note [Throughput model]) fed by the RTF harness's own
component measurements, beside the end-to-end RTF the same harness measured.

    python -m talkvid_fast.rtf.predict bench/results/rtf_cpu.json [bench/results/rtf_cpu_filters.json ...]

Components from the harness's measurements (each measured alone on the device the run used): `decode`
(pass 1 alone; resource nvdec on a GPU, cpu otherwise), stage 1's host work beyond the decode
(1 / (1 / RTF_segment - 1 / RTF_decode), cpu), each filter alone over the video it consumed (its pass-2
decode included; resource gpu on a GPU), export alone (cpu); the fractions are the seconds each consumed
over the corpus's. The measured figure is the `pipeline` measurement. Stage-alone figures each include their
own pass-2 decode, which the pipeline shares, so on one resource the serial prediction is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..stages import FILTER_STAGES
from ._throughput import Component, Prediction, predict, render


def components_from_results(results: dict[str, Any]) -> tuple[list[Component], float | None]:
    """(components, measured pipeline RTF or None) from one or more merged harness result files."""
    ms: dict[str, Any] = results["measurements"]
    total = float(results["corpus"]["video_seconds"])
    gpu = str(results.get("settings", {}).get("device", "cpu")).startswith("cuda")
    comps: list[Component] = []

    def rtf(name: str) -> float | None:
        m = ms.get(name)
        return float(m["rtf"]) if m and not m.get("not_run") and m.get("rtf") else None

    decode = rtf("decode")
    if decode:
        comps.append(Component("decode", "nvdec" if gpu else "cpu", decode))
    segment = rtf("segment")
    if segment and decode and 1 / segment > 1 / decode:
        comps.append(Component("stage 1 beyond decode", "cpu", 1 / (1 / segment - 1 / decode)))
    for name in (*FILTER_STAGES, "export"):
        r = rtf(name)
        if r:
            fraction = min(1.0, float(ms[name]["video_seconds"]) / total)
            resource = "gpu" if gpu and name != "export" else "cpu"
            comps.append(Component(name, resource, r, fraction))
    return comps, rtf("pipeline")


def merge(files: list[Path]) -> dict[str, Any]:
    """Harness result files of one corpus and device: later files add measurements."""
    merged: dict[str, Any] = {}
    for f in files:
        data = json.loads(f.read_text())
        if not merged:
            merged = data
            continue
        if data["corpus"].get("sources") != merged["corpus"].get("sources"):
            raise ValueError(f"{f} measured another corpus than {files[0]}; predict one corpus at a time")
        merged["measurements"].update(data["measurements"])
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m talkvid_fast.rtf.predict", description=__doc__)
    p.add_argument("results", nargs="+", type=Path, help="rtf harness JSON files (same corpus and device)")
    p.add_argument("--json", type=Path, default=None, help="also write the prediction here")
    args = p.parse_args(argv)
    try:
        results = merge(args.results)
        comps, measured = components_from_results(results)
        pred: Prediction = predict(comps)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    device = str(results.get("environment", {}).get("device", ""))
    print(render(pred, measured, device))
    if args.json:
        args.json.write_text(json.dumps({"device": device, "measured": measured, **pred.to_dict()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
