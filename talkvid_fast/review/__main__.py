"""`python -m talkvid_fast.review sample|serve|stats`: human validation of the filters.

sample  --run OUT [--per-filter 100] [--seed 0]     draw clips per filter (Note [Review sample]) into
                                                    OUT/review/sample.json
serve   --sample OUT/review/sample.json [--port N]  the blinded labelling page on http://127.0.0.1:N/;
                                                    answers go to labels_<annotator>.json beside the sample
stats   --labels A.json --labels B.json [--gold G.json] [--run OUT]
                                                    IAA and kappa between annotators; with --run, the
                                                    engine against the gold labels in Table 7's layout
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..agreement import (
    Filter,
    default_filters,
    evaluate,
    parse_map,
    recorded_gates,
    render_markdown,
    stages_in,
    to_json,
)
from ..agreement.__main__ import merged_runs
from ..agreement._labels import load_labels
from ..manifest import RunFolder
from ._sample import sample
from ._server import ReviewSession, start_server
from ._stats import consensus, iaa, load_annotators, render_iaa


def _filters(run_folders: list[str], maps: list[str]) -> tuple[RunFolder, list[Filter]]:
    run = merged_runs([Path(r) for r in run_folders])
    filters, _ = default_filters(stages_in(run.clips), recorded_gates(run.clips))
    extra = parse_map(maps)
    return run, [f for f in filters if f.name not in {e.name for e in extra}] + extra


def _sample(args: argparse.Namespace) -> int:
    if args.per_filter < 1:
        raise ValueError("--per-filter must be >= 1")
    run, filters = _filters(args.run, args.map)
    data = sample(run, filters, args.per_filter, args.seed)
    data["runs"] = [str(Path(r).resolve()) for r in args.run]
    out = Path(args.out) if args.out else Path(args.run[0]) / "review" / "sample.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    for name, s in data["filters"].items():
        d = s["drawn"]
        print(
            f"{name:24s} {s['criterion']:15s} {s['candidates']:5d} candidates, drawn "
            f"{d['boundary']} near the boundary, {d['kept']} kept, {d['rejected']} rejected"
        )
    print(f"{len(data['items'])} items (one per clip and criterion) in {out}")
    print(f"next: python -m talkvid_fast.review serve --sample {out}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    session = ReviewSession(Path(args.sample), Path(args.out_dir) if args.out_dir else None)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach it can read the clips", file=sys.stderr)
    server, url = start_server(session, args.host, args.port)
    print(f"review page: {url}  ({len(session.items)} items; labels go to {session.out_dir}); Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


def _stats(args: argparse.Namespace) -> int:
    files = load_annotators([Path(p) for p in args.labels])
    names = [Path(p).name for p in args.labels]
    print(render_iaa(files, names) if len(files) > 1 else "(one label file: no inter-annotator agreement)")
    payload: dict = {"labels": names}
    if args.run:
        run, filters = _filters(args.run, args.map)
        gold = load_labels(Path(args.gold)) if args.gold else consensus(files)
        rows = evaluate(run, gold, filters)
        for row in rows:
            row.iaa = iaa(files, row.criterion)
        gold_name = Path(args.gold).name if args.gold else f"the consensus of {', '.join(names)}"
        print()
        print(
            render_markdown(
                rows, f"Engine against {gold_name}: profile {run.profile_name}, {len(run.clips)} clips"
            )
        )
        payload.update(gold=gold_name, **to_json(rows))
    else:
        from ._stats import criteria

        payload["iaa"] = {c: (lambda a: a.__dict__ if a else None)(iaa(files, c)) for c in criteria(files)}
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m talkvid_fast.review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="draw clips per filter for labelling")
    s.add_argument("--run", required=True, action="append", help="output folder of a run (repeatable)")
    s.add_argument("--per-filter", type=int, default=100, help="clips per filter (default 100)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default=None, help="sample file (default RUN/review/sample.json)")
    s.add_argument("--map", action="append", default=[], metavar="STAGE[.GATE[+GATE]]=CRITERION")
    v = sub.add_parser("serve", help="the labelling page on a local HTTP server")
    v.add_argument("--sample", required=True)
    v.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    v.add_argument("--port", type=int, default=8765, help="default 8765; 0 picks a free port")
    v.add_argument(
        "--out-dir", default=None, help="where labels_<annotator>.json go (default: beside the sample)"
    )
    t = sub.add_parser("stats", help="IAA between annotators, and the engine against the gold labels")
    t.add_argument("--labels", required=True, action="append", help="an annotator's labels file (repeatable)")
    t.add_argument("--gold", default=None, help="gold labels (default: the annotators' consensus)")
    t.add_argument("--run", action="append", default=[], help="output folder of a run (repeatable)")
    t.add_argument("--map", action="append", default=[], metavar="STAGE[.GATE[+GATE]]=CRITERION")
    t.add_argument("--json", default=None, help="also write the figures as JSON")
    args = p.parse_args(argv)
    try:
        return {"sample": _sample, "serve": _serve, "stats": _stats}[args.command](args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
