"""python -m talkvid_fast.core --run OUT --hours H [--seed N] [--profile core|FILE] (docs/annotate.md)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ..annotate import clip_annotations
from ..manifest import read_run
from ._params import load_core_params
from ._report import write_report
from ._select import select_core


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m talkvid_fast.core",
        description="Select TalkVid-Core from a run: [core] thresholds, then uniform sampling across strata.",
    )
    p.add_argument("--run", required=True, help="the run's output folder")
    p.add_argument("--hours", type=float, default=None, help="target hours (default: the profile's, 160)")
    p.add_argument("--seed", type=int, default=None, help="sampling seed (default: the profile's, 0)")
    p.add_argument("--profile", default="core", help="core (shipped) or a TOML file with a [core] section")
    p.add_argument("--out", default=None, help="folder for core_selection.json/.md (default: the run folder)")
    args = p.parse_args(argv)
    try:
        params = load_core_params(args.profile)
        overrides = {k: v for k, v in (("hours", args.hours), ("seed", args.seed)) if v is not None}
        params = dataclasses.replace(params, **overrides)
    except ValueError as exc:
        p.error(str(exc))
    try:
        run = read_run(Path(args.run))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    selection = select_core(
        run.clips, {s["source_id"]: s for s in run.sources}, clip_annotations(args.run), params
    )
    jpath, mpath = write_report(selection, Path(args.out) if args.out else Path(args.run))
    print(
        f"core: {len(selection.selected)} clips, {selection.got_seconds / 3600:.2f} h of "
        f"{selection.target_seconds / 3600:.2f} h (shortfall {selection.shortfall_seconds / 3600:.2f} h) "
        f"-> {jpath}, {mpath}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
