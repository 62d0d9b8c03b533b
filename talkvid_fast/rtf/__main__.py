"""`python -m talkvid_fast.rtf build-corpus|measure|folder`: the benchmark tool (docs/benchmarks.md).

build-corpus: the reproducible benchmark corpus; measure: RTF of decode, each stage and the pipeline on it
(Note [RTF measurement]); folder: RTF per stage on any folder of sources, beside the official stage 1.
Per-model and per-kernel micro-benchmarks are scripts in bench/micro/, sharing `environment()` and
`write_results()` from here. A new command is a subparser below plus a module beside this one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import tomllib

from ..profile import Profile, load_profile
from . import _folder
from ._corpus import SIZES, build_corpus, load_corpus
from ._env import environment, write_results
from ._harness import DEFAULT_MEASUREMENTS, MEASUREMENTS, Corpus, measure
from ._plot import plot_rtf
from ._report import accuracy_table, check_targets, paper_figures, results_table

TESTMEDIA = Path(
    os.environ.get("TALKVID_TESTMEDIA", Path(__file__).resolve().parents[2].parent / "shared" / "testmedia")
)


def apply_overrides(profile: Profile, items: list[str]) -> Profile:
    """`section.key=value` (value in TOML syntax, bare words as strings) -> a profile with those keys set."""
    sections = {k: dict(v) for k, v in profile.sections.items()}
    for item in items:
        key, sep, text = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or section not in sections:
            raise ValueError(
                f"--set {item!r}: expected section.key=value with section in {', '.join(sections)}"
            )
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        sections[section][name] = value
    return dataclasses.replace(profile, sections=sections)


def _build(args: argparse.Namespace) -> int:
    manifest = build_corpus(Path(args.out), args.size, Path(args.testmedia), args.seed)
    for s in manifest["sources"]:
        print(
            f"{s['file']}: {s['frames']} frames, {len(s['cuts'])} cuts, {s['bytes'] / 1e6:.1f} MB, sha256 {s['sha256'][:16]}"
        )
    print(f"wrote {Path(args.out) / 'corpus.json'}")
    return 0


def _measure(args: argparse.Namespace) -> int:
    folder = Path(args.corpus)
    corpus = Corpus(folder, load_corpus(folder))
    profile = apply_overrides(load_profile(args.profile), args.set)
    names = (
        list(DEFAULT_MEASUREMENTS)
        if args.stages == "default"
        else [s.strip() for s in args.stages.split(",") if s.strip()]
    )
    results, accuracy = measure(
        corpus, profile, names, args.repeats, args.device, args.tolerance, not args.no_warmup
    )
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    sources = corpus.sources
    checks = check_targets(results, sources, args.device)
    env = environment()
    out: dict[str, Any] = {
        "environment": env,
        "corpus": {
            "folder": str(folder),
            "size": corpus.manifest["size"],
            "seed": corpus.manifest["seed"],
            "sources": [
                {
                    k: s[k]
                    for k in (
                        "file",
                        "sha256",
                        "codec",
                        "width",
                        "height",
                        "fps",
                        "frames",
                        "duration",
                        "video_kbps",
                    )
                }
                for s in sources
            ],
            "video_seconds": round(sum(s["duration"] for s in sources), 3),
            "cuts": sum(len(s["cuts"]) for s in sources),
        },
        "settings": {
            "device": args.device,
            "profile": profile.name,
            "overrides": args.set,
            "repeats": args.repeats,
            "warmup": not args.no_warmup,
            "tolerance_frames": args.tolerance,
        },
        "measurements": {k: m.to_dict() for k, m in results.items()},
        "segmentation_accuracy": accuracy.to_dict() if accuracy else None,
        "paper": {k: dataclasses.asdict(v) for k, v in paper_figures().items()},
        "targets": [dataclasses.asdict(c) for c in checks],
    }
    desc = ", ".join(
        f"{s['file']} ({s['codec']} {s['width']}x{s['height']} {s['fps']} fps, {s['duration']:.0f} s, {len(s['cuts'])} cuts)"
        for s in sources
    )
    parts = [
        f"Corpus `{corpus.manifest['size']}` (seed {corpus.manifest['seed']}): {desc}. Profile {profile.name}"
        + (f" with {', '.join(args.set)}" if args.set else "")
        + ".",
        results_table(results, args.repeats),
    ]
    if accuracy is not None:
        per = {f: r["accuracy"] for f, r in results["segment"].extra["first_repeat"].items()}
        parts += ["Segmentation accuracy against the recorded cut points:", accuracy_table(per, accuracy)]
    parts += ["Targets (performance.md):", "\n".join(f"- {c.line()}" for c in checks)]
    text = "\n\n".join(parts)
    name = args.name or f"rtf_{kind}"
    js, md = write_results(name, out, text, Path(args.out))
    png = plot_rtf(
        results,
        Path(args.out) / f"{name}.png",
        f"{env['device']}, git {env['git']}, corpus {corpus.manifest['size']}",
    )
    print(text)
    print(f"wrote {js}, {md}" + (f", {png}" if png else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m talkvid_fast.rtf", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build-corpus", help="build the benchmark corpus (Note [Benchmark corpus])")
    b.add_argument(
        "--size",
        default="tiny",
        choices=list(SIZES),
        help="tiny: tests/CI; small: a CPU run; full: GPU figures",
    )
    b.add_argument("--out", required=True, help="folder for the sources and corpus.json")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument(
        "--testmedia", default=str(TESTMEDIA), help="folder of the real clips (../shared/testmedia)"
    )
    m = sub.add_parser("measure", help="RTF of decode, each stage and the whole pipeline on a corpus")
    m.add_argument("--corpus", required=True, help="folder written by build-corpus")
    m.add_argument(
        "--stages",
        default="default",
        help=f"comma list of {', '.join(MEASUREMENTS)}; default: {','.join(DEFAULT_MEASUREMENTS)}",
    )
    m.add_argument(
        "--repeats", type=int, default=3, help="timed passes over the corpus; the median is reported"
    )
    m.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    m.add_argument("--profile", default="paper")
    m.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="profile override, e.g. quality.weights=random",
    )
    m.add_argument("--tolerance", type=int, default=2, help="frames a detected cut may be off a recorded one")
    m.add_argument("--no-warmup", action="store_true")
    m.add_argument("--out", default="bench/results")
    m.add_argument("--name", default=None, help="result name (default: rtf_<cpu|cuda>)")
    f = sub.add_parser("folder", help="RTF per stage on any folder of sources, beside the official stage 1")
    _folder.add_arguments(f, TESTMEDIA)
    args = p.parse_args(argv)
    commands = {"build-corpus": _build, "measure": _measure, "folder": _folder.run_folder}
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
