"""`python -m talkvid_fast.evalset build --run OUT`: a TalkVid-Bench set from a run's passing clips.

Exit codes: 0 built (strata it could not fill are listed, and kept in bench.json); 2 bad arguments or run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import BENCH_JSON, build
from .design import load_design


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m talkvid_fast.evalset", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="build")
    b = sub.add_parser("build", help="draw a bench set from a run and write its files")
    b.add_argument("--run", required=True, help="a talkvid_fast output folder (journal.jsonl)")
    b.add_argument("--design", default=None, help="design file (TOML/JSON); default: the paper's")
    b.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    b.add_argument("--clip-seconds", type=float, default=None, help="span length (default: the design's, 5)")
    b.add_argument("--out", default=None, help="bench folder (default: RUN/bench)")
    b.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="face detector device")
    b.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = Path(args.run)
    out = Path(args.out) if args.out else run / "bench"
    try:
        if not (run / "journal.jsonl").is_file():
            raise ValueError(f"--run {run} holds no journal.jsonl: not a talkvid_fast output folder")
        if args.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("--device cuda, but torch sees no GPU; allowed here: cpu")
        design = load_design(args.design)
        manifest = build(
            run, out, design, args.seed, args.clip_seconds, args.device, progress=not args.no_progress
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(manifest['clips'])} clips of {design.total} wanted in {out / BENCH_JSON}")
    for s in manifest["skipped"]:
        print(f"skipped {s['clip_id']}: {s['reason']}")
    for u in manifest["unfilled"]:
        print(
            f"unfilled: {u['dimension']}/{u['group']}: {u['got']} of {u['wanted']} "
            f"({u['eligible']} eligible clips in the run)"
        )
    print(f"held out of training: {len(manifest['clips'])} clips listed in {run / 'held_out.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
