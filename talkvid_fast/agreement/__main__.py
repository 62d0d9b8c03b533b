"""`python -m talkvid_fast.agreement --labels LABELS.json --run OUT`: per filter accuracy, precision, recall,
F1 and Cohen's kappa of a run's verdicts against human labels, as the TalkVid paper's Table 7 (markdown on
stdout, JSON beside the run). Several `--run` folders are read as one (a run per media folder, say)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..manifest import RunFolder, read_run
from ._filters import default_filters, parse_map, recorded_gates, stages_in
from ._labels import load_labels
from ._reasons import rejections, rejections_json, render_rejections
from ._table import UNITS, evaluate, render_markdown, to_json


def merged_runs(folders: list[Path]) -> RunFolder:
    runs = [read_run(f) for f in folders]
    first = runs[0]
    return RunFolder(
        folder=first.folder,
        info=first.info,
        sources=[s for r in runs for s in r.sources],
        clips=[c for r in runs for c in r.clips],
        sections=first.sections,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m talkvid_fast.agreement", description=__doc__)
    p.add_argument("--labels", required=True, help="labels file in the format of testmedia/labels.json")
    p.add_argument("--run", required=True, action="append", help="output folder of a run (repeatable)")
    p.add_argument("--json", default=None, help="where to write the JSON (default: RUN/agreement.json)")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="STAGE[.GATE[+GATE]]=CRITERION",
        help="score a stage (or some of its gates) against a label criterion; repeatable",
    )
    p.add_argument(
        "--unit",
        choices=UNITS,
        default="clip",
        help="score each clip (default), or each source file once (labels made per file; Note [File units])",
    )
    args = p.parse_args(argv)
    try:
        run = merged_runs([Path(r) for r in args.run])
        entries = load_labels(Path(args.labels))
        filters, unmapped = default_filters(stages_in(run.clips), recorded_gates(run.clips))
        extra = parse_map(args.map)
        filters = [f for f in filters if f.name not in {e.name for e in extra}] + extra
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = evaluate(run, entries, filters, args.unit)
    rejected = rejections(run, entries, filters)
    title = f"Agreement with {Path(args.labels).name}: profile {run.profile_name}, {len(run.clips)} clips"
    if args.unit == "file":
        title += f", scored per source file ({len(run.sources)})"
    print(render_markdown(rows, title))
    print(render_rejections(rejected))
    for stage in unmapped:
        if stage not in {e.stage for e in extra}:
            print(
                f"not scored: stage {stage!r} has no label criterion (add one with --map {stage}=CRITERION)"
            )
    out = Path(args.json) if args.json else Path(args.run[0]) / "agreement.json"
    payload = {
        "labels": str(args.labels),
        "runs": args.run,
        "profile": run.profile_name,
        "unit": args.unit,
        **to_json(rows),
        "rejections": rejections_json(rejected),
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
