"""What the report shows, gathered from a run's records: scores per stage, example clips per gate, failures."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..manifest import RunFolder


def _numeric(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


@dataclass
class StageScores:
    """Numeric scores of one stage over the clips it scored, and whether each clip passed the stage."""

    values: dict[str, list[float]] = field(default_factory=dict)
    passed: dict[str, list[bool]] = field(default_factory=dict)
    gates: list[str] = field(default_factory=list)  #: gate names seen in its records


def stage_scores(run: RunFolder) -> dict[str, StageScores]:
    out: dict[str, StageScores] = {}
    for c in run.clips:
        for stage, result in c.get("stages", {}).items():
            if not isinstance(result, dict) or result.get("status") == "not_run" or result.get("error"):
                continue
            s = out.setdefault(stage, StageScores())
            passed = bool(result.get("passed", c.get("gates", {}).get(stage, True)))
            for g in result.get("gates") or {}:
                if g not in s.gates:
                    s.gates.append(g)
            for name, v in (result.get("scores") or {}).items():
                if _numeric(v) and not name.endswith("_id"):
                    s.values.setdefault(name, []).append(float(v))
                    s.passed.setdefault(name, []).append(passed)
    if run.clips:
        seg = out.setdefault("segment", StageScores())
        seg.values["clip duration (s)"] = [float(c["duration"]) for c in run.clips]
        seg.passed["clip duration (s)"] = [bool(c.get("gates", {}).get("duration", True)) for c in run.clips]
    return out


@dataclass(frozen=True)
class Example:
    clip: dict[str, Any]
    reason: str  #: why it was rejected (gate and score), or the deciding score when kept


def _reason(c: dict[str, Any], gate: str, kept: bool) -> str:
    if gate == "duration":
        return f"duration {c['duration']:.2f} s"
    if gate == "speech":
        frac = c.get("stages", {}).get("segment", {}).get("scores", {}).get("speech_fraction")
        what = c.get("first_failed_gate") if not kept else "speech"
        return f"{what}" + (f", speech fraction {frac:.2f}" if _numeric(frac) else "")
    result = c.get("stages", {}).get(gate, {})
    if result.get("error"):
        return f"error: {str(result['error'])[:80]}"
    scores = result.get("scores") or {}
    failed = result.get("failed_gate")
    if not kept and failed:
        value = scores.get(failed)
        if value is None:
            from ..head.scores_reference import GATES

            value = scores.get({g: s for g, s, _ in GATES}.get(failed, ""), None) if gate == "head" else None
        return f"{failed}" + (f" = {value:.3g}" if _numeric(value) else "")
    first = next(((k, v) for k, v in scores.items() if _numeric(v) and not k.endswith("_id")), None)
    return f"{first[0]} = {first[1]:.3g}" if first else "passed"


def examples(run: RunFolder, gate: str, per_side: int = 5) -> tuple[list[Example], list[Example]]:
    """Up to `per_side` clips the gate kept and rejected, one source at a time (round robin, in order)."""
    sides: dict[bool, dict[str, list[dict[str, Any]]]] = {True: defaultdict(list), False: defaultdict(list)}
    for c in run.clips:
        verdict = c.get("gates", {}).get(gate)
        if verdict is not None:
            sides[bool(verdict)][c["source_id"]].append(c)
    picked: dict[bool, list[Example]] = {True: [], False: []}
    for kept, by_source in sides.items():
        queues = [list(v) for _, v in sorted(by_source.items())]
        while queues and len(picked[kept]) < per_side:
            for q in list(queues):
                if len(picked[kept]) >= per_side:
                    break
                c = q.pop(0)
                picked[kept].append(Example(c, _reason(c, gate, kept)))
                if not q:
                    queues.remove(q)
    return picked[True], picked[False]


def source_failures(run: RunFolder) -> dict[str, list[tuple[str, str]]]:
    """reason -> [(source path, first line of the detail)] for sources that failed."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s in run.sources:
        for e in s.get("errors") or []:
            out[str(e.get("reason"))].append(
                (str(s.get("path", s["source_id"])), str(e.get("detail", "")).split("\n")[0])
            )
    return dict(out)


def clip_failures(run: RunFolder) -> dict[str, tuple[int, list[str]]]:
    """first failed gate -> (clips, the sources they came from)."""
    counts: Counter[str] = Counter()
    sources: dict[str, dict[str, None]] = defaultdict(dict)
    for c in run.clips:
        if c.get("first_failed_gate"):
            counts[c["first_failed_gate"]] += 1
            sources[c["first_failed_gate"]][c["source_id"]] = None
    return {k: (n, list(sources[k])) for k, n in counts.most_common()}


def backends(run: RunFolder) -> dict[str, list[str]]:
    """stage -> the backends (engine and device) that scored its clips; 'decoder' -> the decoders used."""
    out: dict[str, dict[str, None]] = defaultdict(dict)
    for s in run.sources:
        if s.get("decoder"):
            for key in ("decoder", "decode_scan", "decode_views", "total"):
                out[key][s["decoder"]] = None
    for c in run.clips:
        for stage, result in c.get("stages", {}).items():
            if isinstance(result, dict) and result.get("backend"):
                out[stage][str(result["backend"])] = None
            if stage == "segment" and isinstance(result, dict) and result.get("detector"):
                out[stage][f"scenedetect {result['detector']}"] = None
    return {k: list(v) for k, v in out.items()}
