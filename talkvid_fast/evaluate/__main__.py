"""`python -m talkvid_fast.evaluate --generated DIR --bench SET`: TalkVid-Bench metrics per clip and subgroup.

Exit codes: 0 evaluated (metrics whose network is absent are listed as not run); 2 bad arguments, or a
generated folder that does not match the bench set (every problem is listed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .run import METRICS, FolderMismatch, evaluate, parse_metrics


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m talkvid_fast.evaluate", description=__doc__)
    p.add_argument("--generated", required=True, help="folder of generated videos, <bench id>.mp4 each")
    p.add_argument("--bench", required=True, help="bench set folder (bench.json) from talkvid_fast.evalset")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument(
        "--runtime",
        default="auto",
        choices=("auto", "tensorrt", "torch", "onnxruntime"),
        help="engine of FID/FVD/Sync networks: auto = TensorRT when its fp32 engine is built, else torch; "
        "onnxruntime: CPU only (docs/evaluation_networks.md)",
    )
    p.add_argument("--metrics", default="all", help=f"all, or a comma list of {', '.join(METRICS)}")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples per subgroup (0: no CIs)")
    p.add_argument(
        "--bootstrap-frechet", type=int, default=0, help="bootstrap resamples for FID/FVD (default 0: none)"
    )
    p.add_argument("--frame-stride", type=int, default=1, help="PSNR/SSIM/LMD/LPIPS on every N-th frame")
    p.add_argument(
        "--audio-from-bench", action="store_true", help="Sync with the bench's WAV, not the video's"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--out", default=None, help="results folder (default: GENERATED/eval)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        metrics = parse_metrics(args.metrics)
        if args.bootstrap < 0 or args.bootstrap_frechet < 0 or args.frame_stride < 1:
            raise ValueError("--bootstrap and --bootstrap-frechet must be >= 0, --frame-stride >= 1")
        if args.runtime == "onnxruntime" and args.device != "cpu":
            raise ValueError(
                "--runtime onnxruntime runs on the CPU; allowed with --device cuda: auto, tensorrt, torch"
            )
        if args.runtime == "tensorrt" and args.device != "cuda":
            raise ValueError(
                "--runtime tensorrt needs --device cuda; allowed with --device cpu: auto, torch, onnxruntime"
            )
        if args.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("--device cuda, but torch sees no GPU; allowed here: cpu")
        generated = Path(args.generated)
        out = Path(args.out) if args.out else generated / "eval"
        report = evaluate(
            Path(args.bench),
            generated,
            out,
            metrics,
            device=args.device,
            bootstrap=args.bootstrap,
            bootstrap_frechet=args.bootstrap_frechet,
            frame_stride=args.frame_stride,
            audio_from_bench=args.audio_from_bench,
            seed=args.seed,
            progress=not args.no_progress,
            runtime=args.runtime,
        )
    except (FolderMismatch, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    for m, why in report["not_run"].items():
        print(f"{m}: {why}")
    print(f"results: {out / 'results.json'}, {out / 'results.md'}, {len(report['plots'])} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
