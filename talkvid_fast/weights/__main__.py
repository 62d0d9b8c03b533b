"""`python -m talkvid_fast.weights list|fetch NAME...|path NAME`."""

from __future__ import annotations

import argparse
import sys

from . import all_sets, fetch, get, set_dir
from ._store import WeightsMissing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkvid_fast.weights", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list weight sets and whether they are present")
    p_fetch = sub.add_parser("fetch", help="download and verify weight sets into the cache")
    p_fetch.add_argument("names", nargs="+")
    p_path = sub.add_parser("path", help="print the cache folder of a weight set")
    p_path.add_argument("name")
    args = parser.parse_args(argv)

    if args.cmd == "list":
        for name, ws in sorted(all_sets().items()):
            present = all((set_dir(name) / f.name).is_file() for f in ws.files)
            print(f"{name:12s} {'present' if present else 'missing':8s} {ws.license:24s} {ws.description}")
        return 0
    if args.cmd == "path":
        print(set_dir(get(args.name).name))
        return 0
    status = 0
    for name in args.names:
        try:
            ws = get(name)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        try:
            for path in fetch(ws):
                print(f"{name}: {path}")
        except (OSError, WeightsMissing) as exc:
            print(f"error: could not fetch {name}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
