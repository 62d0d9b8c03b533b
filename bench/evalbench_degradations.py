"""TalkVid-Bench end to end on the shared test media: a run, a bench set, the evaluator on known degradations.

1. `python -m talkvid_fast.run` (stages segment, head with the facemesh backend, span export) over every clip
   in `positives/`, with attributes given in the input manifest (the media has none: the values below are
   ASSIGNED for this demonstration, not annotations of the people shown);
2. `python -m talkvid_fast.evalset build` with the paper's design (500 clips wanted: most strata cannot be
   filled from a few test clips, and are reported);
3. "generated" folders made from the bench's ground truth: as it is (re-encoded), Gaussian blur σ 1.5 and 4,
   frames shuffled, audio delayed by 3 frames; `python -m talkvid_fast.evaluate` on each.
FID, FVD and Sync need `talkvid_fast.evalnets` and their weights: where absent they are reported as not run.
Writes bench/results/evalbench_degradations_<device>.json and .md.

    python bench/evalbench_degradations.py [--testmedia ../shared/testmedia] [--work /tmp/evalbench] [--frame-stride 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from talkvid_fast.evalset._media import read_video, write_mp4  # noqa: E402
from talkvid_fast.segment import read_wav_16k as read_wav  # noqa: E402

# assigned attributes, spread over the paper's dimensions so that the draw has something to place
# assigned attributes, one dimension each (dimensions are drawn in the design's order, age first, and a clip
# serves one dimension only), so that the draw can place clips in every dimension
ASSIGNED: list[dict[str, Any]] = [
    {"age": 29},
    {"gender": "female"},
    {"ethnicity": "Asian"},
    {"language": "English"},
    {"gender": "male"},
    {"age": 52},
]
KINDS = ("identity", "blur1.5", "blur4", "shuffle", "audio+3")
SHIFT = 3


def degrade(
    frames: np.ndarray, audio: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if kind.startswith("blur"):
        sigma = float(kind[4:])
        return np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames]), audio
    if kind == "shuffle":
        return frames[rng.permutation(len(frames))], audio
    if kind == "audio+3":
        return frames, np.concatenate([np.zeros(SHIFT * 640, np.int16), audio[: -SHIFT * 640]])
    return frames, audio


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--testmedia", default=str(REPO.parent / "shared" / "testmedia"))
    p.add_argument("--work", default="/tmp/evalbench")
    p.add_argument("--frame-stride", type=int, default=5)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    work, media = Path(args.work), Path(args.testmedia)
    work.mkdir(parents=True, exist_ok=True)
    videos = sorted((media / "positives").glob("*.mp4"))
    inputs = [{"video-path": str(v), **ASSIGNED[i % len(ASSIGNED)]} for i, v in enumerate(videos)]
    (work / "inputs.json").write_text(json.dumps(inputs, indent=1))
    py = [sys.executable, "-m"]
    t0 = time.perf_counter()
    cmds = {
        "run": [*py, "talkvid_fast.run", "--no-progress", "--no-report", "--input", str(work / "inputs.json"),
                "--output", str(work / "run"), "--stages", "segment,head,export", "--export", "spans", "--fresh"],
        "build": [*py, "talkvid_fast.evalset", "build", "--run", str(work / "run"), "--out", str(work / "bench"),
                  "--no-progress", "--device", args.device],
    }  # fmt: skip
    logs = {}
    for name, cmd in cmds.items():
        r = subprocess.run(
            cmd, capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), **_env()}
        )
        logs[name] = r.stdout[-3000:]
        if r.returncode:
            print(r.stdout, r.stderr)
            return 1
    seconds = {"run_and_build": time.perf_counter() - t0}
    bench = json.loads((work / "bench" / "bench.json").read_text())
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {}
    for kind in KINDS:
        folder = work / "generated" / kind
        folder.mkdir(parents=True, exist_ok=True)
        for c in bench["clips"]:
            frames, _ = read_video(work / "bench" / c["files"]["video"])
            audio = read_wav(work / "bench" / c["files"]["audio"])
            f, a = degrade(frames, audio, kind, rng)
            write_mp4(f, folder / f"{c['id']}.mp4", a)
        t = time.perf_counter()
        r = subprocess.run(
            [*py, "talkvid_fast.evaluate", "--generated", str(folder), "--bench", str(work / "bench"), "--out",
             str(work / "eval" / kind), "--frame-stride", str(args.frame_stride), "--no-progress", "--device", args.device],
            capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), **_env()},
        )  # fmt: skip
        if r.returncode:
            print(r.stdout, r.stderr)
            return 1
        seconds[f"evaluate_{kind}"] = time.perf_counter() - t
        results[kind] = json.loads((work / "eval" / kind / "results.json").read_text())
    env = {
        "device": args.device,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
    }
    out = {"env": env, "seconds": seconds, "bench": bench, "logs": logs, "results": results}
    stem = REPO / "bench" / "results" / f"evalbench_degradations_{args.device}"
    stem.with_suffix(".json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
    stem.with_suffix(".md").write_text(markdown(out, args.frame_stride))
    print(stem.with_suffix(".md").read_text())
    return 0


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def markdown(out: dict[str, Any], stride: int) -> str:
    b = out["bench"]
    lines = [
        "# TalkVid-Bench on the shared test media: known degradations (evaluator check)",
        "",
        f"Device: {out['env']['device']} ({out['env']['cpu']}, torch {out['env']['torch']}, "
        f"{out['env']['threads']} threads). Command: `python bench/evalbench_degradations.py --frame-stride {stride}`.",
        "",
        f"Run: segment + head (facemesh) + span export over `positives/` of the test media, attributes ASSIGNED in "
        f"the input manifest (not annotations). Bench: the paper's design, {len(b['clips'])} of "
        f"{sum(sum(d['groups'].values()) for d in b['design']['dimensions'])} clips filled from "
        f"{b['candidates']} candidate clips; {len(b['unfilled'])} strata unfilled (listed below).",
        "",
        "| generated | " + " | ".join(_cols(out)) + " |",
        "|---|" + "---:|" * len(_cols(out)),
    ]
    for kind, res in out["results"].items():
        vals = res["subgroups"][0]["values"]
        cells = [("–" if vals.get(k) is None else f"{vals[k]:.3f}") for k in res["columns"]]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    first = next(iter(out["results"].values()))
    lines += [
        "",
        f"All bench clips pooled; PSNR/SSIM/LMD on every {stride}th frame. Every generated folder is re-encoded "
        "(x264 CRF 18), so `identity` is not bit-exact: its PSNR and LMD show the re-encoding alone. `audio+3` "
        "changes only the audio, which only Sync reads. Seconds are wall time on a 2-core machine shared with "
        "other jobs. Not run:",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in sorted(first["not_run"].items())]
    lines += [
        "",
        "Bench clips:",
        "",
        "| clip | dimension / group | span (s) | span method |",
        "|---|---|---|---|",
    ]
    for c in b["clips"]:
        lines.append(
            f"| {c['id']} | {c['dimension']} / {c['group']} | {c['span']['start']:.2f}–{c['span']['end']:.2f} | {c['span']['method']} |"
        )
    lines += ["", "Unfilled strata (got / wanted):", ""]
    lines.append(", ".join(f"{u['dimension']}/{u['group']} {u['got']}/{u['wanted']}" for u in b["unfilled"]))
    lines += ["", "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in out["seconds"].items()), ""]
    return "\n".join(lines)


def _cols(out: dict[str, Any]) -> list[str]:
    return list(next(iter(out["results"].values()))["columns"].values())


if __name__ == "__main__":
    sys.exit(main())
