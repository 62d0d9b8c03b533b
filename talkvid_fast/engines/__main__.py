"""`python -m talkvid_fast.engines build|list`: export ONNX, build TensorRT engines, show what would run here."""

from __future__ import annotations

import argparse
import sys

from ._cache import engine_root, list_engines
from ._exporters import WEIGHT_MODES
from ._specs import PRECISIONS, SpecError, load_specs, spec_dir


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m talkvid_fast.engines", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="export ONNX and build TensorRT engines (engines/*.toml)")
    b.add_argument(
        "--models",
        default=None,
        help="comma list of models or graphs (default: all), e.g. dover,cotracker,facemesh or cotracker3_paper",
    )
    b.add_argument("--precision", choices=PRECISIONS, default=None, help="default: each spec's first")
    b.add_argument("--out", default=None, help="cache folder (default: $TALKVID_FAST_HOME/engines)")
    b.add_argument("--weights", choices=WEIGHT_MODES, default="official", help="see Note [Build weights]")
    b.add_argument("--export-only", action="store_true", help="write the ONNX files, skip TensorRT")
    b.add_argument("--force", action="store_true", help="re-export and rebuild even when cached")
    b.add_argument("--specs", default=None, help="spec folder (default: the repository's engines/)")
    ls = sub.add_parser("list", help="specs, exported ONNX files, built engines, and the runtime picked here")
    ls.add_argument("--out", default=None)
    ls.add_argument("--specs", default=None)
    ls.add_argument("--device", default="auto")
    return ap


def _build(args: argparse.Namespace) -> int:
    from .build import BuildUnavailable, build

    try:
        results = build(
            args.models,
            args.precision,
            args.out,
            weights=args.weights,
            export_only=args.export_only,
            force=args.force,
            specs=load_specs(args.specs),
        )
    except BuildUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    for r in results:
        print(f"{r.status:8} {r.graph:28} {r.precision:5} {r.engine or r.onnx or r.message}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _list(args: argparse.Namespace) -> int:
    from ._runtime import select_runtime

    specs = load_specs(args.specs)
    root = engine_root(args.out)
    print(f"specs: {args.specs or spec_dir()}   cache: {root}")
    for spec in specs.values():
        print(f"{spec.name} (weights {spec.weights}; precision {', '.join(spec.precisions)})")
        for g in spec.graphs:
            shapes = ", ".join(f"{i.name} {i.batch.min}..{i.batch.max}x{list(i.shape)}" for i in g.inputs)
            choice = select_runtime(g.name, args.device, out=args.out, specs=specs)
            print(f"  {g.name:28} {shapes}")
            print(f"  {'':28} -> {choice.name}{f' ({choice.reason})' if choice.reason else ''}")
    onnx = sorted((root / "onnx").glob("*.onnx"))
    print(f"exported ONNX: {len(onnx)}")
    for p in onnx:
        print(f"  {p.name} ({p.stat().st_size / 1e6:.1f} MB)")
    engines = list_engines(root)
    print(f"built engines: {len(engines)}")
    for e in engines:
        print(
            f"  {e['graph']} {e['precision']} {e['gpu']} sm{e['capability'][0]}{e['capability'][1]} "
            f"TensorRT {e['trt_version']} key {e['key']}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _build(args) if args.command == "build" else _list(args)
    except (SpecError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
