"""`review sample`: which clips people label, per filter.

Note [Review sample]: for each filter (Note [Filter map] in agreement/_filters.py) the candidates are the clips
it judged. A third of the draw are the clips nearest its decision boundary (the signed margin of the gate
closest to flipping, in units of that score's spread over the candidates), and the rest are split evenly
between clips it kept and clips it rejected (a short side is filled from the other). Within each stratum the
draw goes round robin over sources (a source with many clips cannot fill it), each source's clips shuffled
(boundary: nearest first), with a seeded generator, so the same run and seed give the same sample. Filters
with no score and threshold to measure a margin by are drawn from the two sides only. The items are
presented in a seeded random order, blinded: the page never receives verdicts, strata or scores.
"""

from __future__ import annotations

import random
import statistics
import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..agreement import Filter
from ..htmlreport._thresholds import score_lines
from ..manifest import RunFolder


@dataclass(frozen=True)
class Candidate:
    clip: dict[str, Any]
    keep: bool
    margin: float | None  #: signed distance to the boundary in score spreads; None if unknown


def _gate_scores(f: Filter, result: dict[str, Any]) -> list[str]:
    """The scores that decide filter `f`, as named in its stage's records."""
    if f.stage == "segment":
        return ["speech_fraction"]
    if f.stage == "head":
        from ..head.scores_reference import GATES

        table = {g: s for g, s, _ in GATES}
        return [table[g] for g in f.gates if g in table]
    if f.gates:
        return list(f.gates)
    return list((result.get("scores") or {}).keys())


def _raw_margins(
    f: Filter, clip: dict[str, Any], lines: dict[str, list[tuple[float, str]]]
) -> dict[str, float]:
    """score -> signed (score - threshold) of one clip, for the scores of `f` that have a threshold."""
    if f.stage == "overall":
        return {}
    result = (
        clip.get("stages", {}).get(f.stage, {}) if f.stage != "segment" else clip["stages"].get("segment", {})
    )
    scores = result.get("scores") or {}
    out = {}
    for name in _gate_scores(f, result):
        v = scores.get(name)
        if name not in lines or not isinstance(v, int | float) or isinstance(v, bool):
            continue
        bounds = [t for t, _ in lines[name]]
        out[name] = min(v - bounds[0], bounds[1] - v) if len(bounds) == 2 else v - bounds[0]
    return out


def candidates(run: RunFolder, f: Filter) -> list[Candidate]:
    lines = {}
    if f.stage not in ("overall",):
        section = run.section(f.stage)
        gates = sorted(
            {g for c in run.clips for g in (c.get("stages", {}).get(f.stage, {}).get("gates") or {})}
        )
        lines = score_lines(f.stage, section, gates)
    judged = []
    for c in run.clips:
        if f.stage == "overall" and c.get("first_failed_gate") == "duration":
            continue
        v = f.verdict(c)
        if v.keep is not None:
            judged.append((c, v.keep, _raw_margins(f, c, lines)))
    spread = {}
    for name in {n for _, _, m in judged for n in m}:
        values = [m[name] for _, _, m in judged if name in m]
        spread[name] = statistics.pstdev(values) if len(values) > 1 else 0.0
    out = []
    for c, keep, m in judged:
        scaled = [v / (spread[n] or 1.0) for n, v in m.items()]
        out.append(Candidate(c, keep, min(scaled) if scaled else None))
    return out


def _round_robin(groups: dict[str, list[Candidate]], n: int, taken: set[str]) -> list[Candidate]:
    picked: list[Candidate] = []
    queues = [list(q) for q in groups.values()]
    while len(picked) < n and any(queues):
        for q in queues:
            while q and q[0].clip["clip_id"] in taken:
                q.pop(0)
            if q and len(picked) < n:
                c = q.pop(0)
                taken.add(c.clip["clip_id"])
                picked.append(c)
    return picked


def draw(cands: list[Candidate], n: int, rng: random.Random) -> list[tuple[Candidate, str]]:
    """Up to n candidates with their stratum (boundary / kept / rejected), Note [Review sample]."""
    by_source: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_source[c.clip["source_id"]].append(c)
    sources = sorted(by_source)
    rng.shuffle(sources)
    for s in sources:
        rng.shuffle(by_source[s])
    taken: set[str] = set()
    out: list[tuple[Candidate, str]] = []
    with_margin = {
        s: sorted((c for c in by_source[s] if c.margin is not None), key=lambda c: abs(c.margin or 0.0))
        for s in sources
    }
    with_margin = {
        s: q
        for s, q in sorted(
            with_margin.items(), key=lambda kv: abs(kv[1][0].margin or 0.0) if kv[1] else 1e300
        )
    }
    if any(with_margin.values()):
        out += [(c, "boundary") for c in _round_robin(with_margin, n // 3, taken)]
    rest = n - len(out)
    kept = {s: [c for c in by_source[s] if c.keep] for s in sources}
    rejected = {s: [c for c in by_source[s] if not c.keep] for s in sources}
    k = _round_robin(kept, rest - rest // 2, taken)
    r = _round_robin(rejected, rest - len(k), taken)
    k += _round_robin(kept, rest - len(k) - len(r), taken)  # a short rejected side is filled from the kept
    return out + [(c, "kept") for c in k] + [(c, "rejected") for c in r]


def sample(run: RunFolder, filters: list[Filter], per_filter: int, seed: int) -> dict[str, Any]:
    """The sample file's content: items (criterion, clip, span, and per filter the stratum it was drawn
    from) and per-filter counts."""
    items: dict[str, dict[str, Any]] = {}
    summary = {}
    for f in filters:
        rng = random.Random(seed * 1_000_003 + zlib.crc32(f.name.encode()))
        cands = candidates(run, f)
        drawn = draw(cands, per_filter, rng)
        summary[f.name] = {
            "criterion": f.criterion,
            "candidates": len(cands),
            "drawn": {s: sum(1 for _, x in drawn if x == s) for s in ("boundary", "kept", "rejected")},
        }
        for c, stratum in drawn:
            clip = c.clip
            # one question per clip and criterion, even when two filters decide the same criterion
            item = items.setdefault(
                f"{f.criterion}|{clip['clip_id']}",
                {
                    "item_id": f"{f.criterion}|{clip['clip_id']}",
                    "criterion": f.criterion,
                    "clip_id": clip["clip_id"],
                    "source_id": clip["source_id"],
                    "file": clip.get("source_path", ""),
                    "start": clip["start"],
                    "end": clip["end"],
                    "filters": {},
                },
            )
            item["filters"][f.name] = stratum
    ordered = sorted(items.values(), key=lambda i: i["item_id"])
    random.Random(seed).shuffle(ordered)
    return {"version": 1, "seed": seed, "per_filter": per_filter, "filters": summary, "items": ordered}
