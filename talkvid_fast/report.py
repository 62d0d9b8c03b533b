"""The run summary: the attrition funnel (hours per stage), failures by reason, per-stage RTF, score spreads.

`python -m talkvid_fast.report --run OUT` writes OUT/report.html (and the plots in OUT/report_files/) again
from the folder's records, for a finished run, a run still going, or one made before reports existed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .manifest import Journal, RunFolder, write_atomic
from .stages import FILTER_STAGES

FUNNEL = ("duration", "speech", *FILTER_STAGES)


def funnel_gates(clips: list[dict[str, Any]]) -> list[str]:
    """Stage 1's gates, the filter stages in pipeline order, then any other gate the records carry."""
    seen = dict.fromkeys(FUNNEL)
    for c in clips:
        seen.update(dict.fromkeys(c.get("gates", {})))
    return list(seen)


def summarize(
    journal: Journal | RunFolder,
    unavailable: dict[str, str],
    wall_seconds: float,
    this_run: set[str] | None = None,
) -> dict[str, Any]:
    """The summary of the whole output folder (every run into it), plus this run's own work.

    Note [Resumed runs]: a rerun skips the sources already committed, so its wall time says nothing about
    the output's hours. The whole output's rate is its video seconds over the processing seconds the
    sources recorded (summed over sources, so with several workers it is a per-worker rate); this run's
    end-to-end RTF is the video it processed over its own wall time, and there is none when it processed
    nothing. `this_run` holds the source ids this run processed (None: every source in the journal).
    """
    sources = [s for s, _ in journal.records()]
    clips = [c for _, cs in journal.records() for c in cs]
    ok = [s for s in sources if s["status"] == "ok"]
    failures = Counter(e["reason"] for s in sources for e in s.get("errors", []))
    seconds_in = sum(s.get("probe", {}).get("duration", 0.0) for s in ok)

    funnel = []
    alive = list(clips)
    for gate in funnel_gates(clips):
        judged = [c for c in alive if gate in c["gates"]]
        if not judged and gate not in ("duration", "speech"):
            funnel.append({"gate": gate, "ran": False, "clips": len(alive), "hours": _hours(alive)})
            continue
        alive = [c for c in alive if c["gates"].get(gate, True)]
        funnel.append({"gate": gate, "ran": True, "clips": len(alive), "hours": _hours(alive)})

    clip_failures = Counter(c["first_failed_gate"] for c in clips if c["first_failed_gate"])
    stage_seconds: Counter[str] = Counter()
    stage_inputs: Counter[str] = Counter()
    for s in ok:
        stage_seconds.update(s.get("timings", {}))
        stage_inputs.update(s.get("stage_input_seconds", {}))
    # RTF of a stage: seconds of video it consumed (whole sources for segment, clips for filters) / its wall time
    rtf = {
        k: round(stage_inputs[k] / v, 2) for k, v in stage_seconds.items() if v > 0 and stage_inputs[k] > 0
    }
    done_now = [s for s in sources if this_run is None or s["source_id"] in this_run]
    seconds_now = sum(s.get("probe", {}).get("duration", 0.0) for s in done_now if s["status"] == "ok")
    processing = sum(s.get("timings", {}).get("total", 0.0) for s in sources)
    rtf_now = (
        round(seconds_now / wall_seconds, 2) if done_now and seconds_now > 0 and wall_seconds > 0 else None
    )
    return {
        "sources": len(sources),
        "sources_ok": len(ok),
        "sources_failed": len(sources) - len(ok),
        "hours_in": round(seconds_in / 3600, 4),
        "scenes": sum(s.get("scenes", 0) for s in ok),
        "clips": len(clips),
        "clips_passed": sum(c["passed"] for c in clips),
        "clips_exported": sum(bool(c.get("export")) for c in clips),
        "funnel": funnel,
        "source_failures": dict(failures),
        "clip_failures": dict(clip_failures),
        "stages_not_run": unavailable,
        "rtf": rtf,
        "whole_output": {
            "sources": len(sources),
            "hours_in": round(seconds_in / 3600, 4),
            "processing_seconds": round(processing, 2),
            "rtf_processing": round(seconds_in / processing, 2)
            if processing > 0 and seconds_in > 0
            else None,
        },
        "this_run": {
            "processed": len(done_now),
            "skipped": len(sources) - len(done_now),
            "hours_in": round(seconds_now / 3600, 4),
            "wall_seconds": round(wall_seconds, 2),
            "rtf_end_to_end": rtf_now,
        },
        "rtf_end_to_end": rtf_now,  #: this run's (Note [Resumed runs]); None when it processed nothing
        "scores": _score_spreads(clips),
    }


def _hours(clips: list[dict[str, Any]]) -> float:
    return round(sum(c["duration"] for c in clips) / 3600, 4)


def _score_spreads(clips: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    values: dict[str, list[float]] = {}
    for c in clips:
        for stage, result in c["stages"].items():
            for name, v in (result.get("scores") or {}).items():
                if isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v):
                    values.setdefault(f"{stage}.{name}", []).append(float(v))
    return {
        k: {
            "n": len(v),
            "p10": round(float(np.percentile(v, 10)), 4),
            "median": round(float(np.median(v)), 4),
            "p90": round(float(np.percentile(v, 90)), 4),
        }
        for k, v in sorted(values.items())
    }


def render(summary: dict[str, Any]) -> str:
    lines = [
        f"sources: {summary['sources']} ({summary['sources_ok']} ok, {summary['sources_failed']} failed), "
        f"{summary['hours_in']:.3f} h in, {summary['scenes']} scenes",
        f"clips: {summary['clips']} found, {summary['clips_passed']} passed, {summary['clips_exported']} exported",
        "funnel (clips / hours left after each gate):",
    ]
    for step in summary["funnel"]:
        state = "" if step["ran"] else "  (not run)"
        lines.append(f"  {step['gate']:9s} {step['clips']:6d} clips  {step['hours']:.4f} h{state}")
    for name, why in summary["stages_not_run"].items():
        lines.append(f"not run: {name}: {why}")
    if summary["source_failures"]:
        lines.append(
            "source failures: " + ", ".join(f"{k}={v}" for k, v in sorted(summary["source_failures"].items()))
        )
    if summary["clip_failures"]:
        lines.append(
            "clips failed at: " + ", ".join(f"{k}={v}" for k, v in sorted(summary["clip_failures"].items()))
        )
    if summary["rtf"]:
        lines.append("RTF per stage: " + ", ".join(f"{k}={v}" for k, v in sorted(summary["rtf"].items())))
    whole, now = summary.get("whole_output"), summary.get("this_run")
    if whole is not None:
        lines.append(
            f"whole output (all runs): {whole['sources']} sources, {whole['hours_in']:.4f} h in, "
            f"{whole['processing_seconds']:.1f} s of processing summed over sources, "
            f"RTF per processing second: {whole['rtf_processing']}"
        )
    if now is not None and now["processed"] == 0:
        lines.append(
            f"this run: nothing left to do ({now['skipped']} sources already done); no RTF for this run"
        )
    elif now is not None:
        lines.append(
            f"this run: {now['processed']} processed, {now['skipped']} already done "
            f"({now['hours_in']:.4f} h in {now['wall_seconds']:.1f} s wall); "
            f"RTF end to end: {now['rtf_end_to_end']}"
        )
    else:
        lines.append(f"RTF end to end: {summary['rtf_end_to_end']}")
    return "\n".join(lines)


def write_summary(summary: dict[str, Any], folder: Path) -> Path:
    write_atomic(folder / "summary.json", json.dumps(summary, indent=2).encode())
    path = folder / "summary.md"
    write_atomic(path, ("# Run summary\n\n```\n" + render(summary) + "\n```\n").encode())
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from .htmlreport import write_report
    from .manifest import read_run

    p = argparse.ArgumentParser(prog="python -m talkvid_fast.report", description=__doc__)
    p.add_argument("--run", required=True, help="output folder of a run")
    p.add_argument("--thumbs", type=int, default=5, help="example clips per side of each gate (default 5)")
    args = p.parse_args(argv)
    try:
        run = read_run(Path(args.run))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(run, {}, 0.0)
    summary["this_run"] = summary["rtf_end_to_end"] = None  # a report redrawn later has no run of its own
    saved = run.folder / "summary.json"
    if saved.is_file():  # the last run's own figures and the stages that did not run are known at run time
        old = json.loads(saved.read_text())
        for key in ("this_run", "rtf_end_to_end", "stages_not_run"):
            if key in old:
                summary[key] = old[key]
    print(write_report(run, summary, thumbs_per_side=args.thumbs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
