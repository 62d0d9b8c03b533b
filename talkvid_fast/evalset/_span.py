"""Where in a clip the bench cuts its fixed-length span.

Note [Stable span]: the head record keeps, per sampled frame (at `start + k / sample_fps`), how many faces
were found (`face_counts`), and the indices (among the single-face samples) of the clip's worst movement
pair, worst rotation pair and worst orientation sample. Every span start on the sample grid (and the
centred span) is scored: 10 per sample inside without exactly one face, plus 1 for each of the three worst
spots inside; the lowest score wins, ties go to the span nearest the clip's centre. Without head scores
(head not run, or official sampling) the span is the clip's centre, and the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    start: float  #: seconds in the source
    end: float
    method: str  #: "head_stable" | "centre"
    note: str
    penalty: int | None = None


def stable_span(clip: dict[str, Any], seconds: float, head_params: dict[str, Any]) -> Span:
    start, end = float(clip["start"]), float(clip["end"])
    if end - start < seconds - 1e-6:
        raise ValueError(f"clip {clip['clip_id']} lasts {end - start:.2f} s < {seconds} s")
    centre = start + (end - start - seconds) / 2
    head = (clip.get("stages") or {}).get("head") or {}
    scores = head.get("scores") or {}
    counts = scores.get("face_counts")
    if not counts or head_params.get("sampling", "exact") != "exact":
        why = "no head scores in the record" if not counts else "head sampling is not 'exact'"
        return Span(centre, centre + seconds, "centre", f"clip centre ({why})")
    rate = float(head_params.get("sample_fps", 1.0))
    times = [start + k / rate for k in range(len(counts))]
    single = [k for k, c in enumerate(counts) if c == 1]
    worst: list[tuple[float, float]] = []  # time ranges of the worst spots
    for key, pair in (("min_movement_id", True), ("min_rotation_id", True), ("min_orientation_id", False)):
        j = scores.get(key)
        if j is None or j >= len(single) or (pair and j + 1 >= len(single)):
            continue
        a = times[single[j]]
        worst.append((a, times[single[j + 1]] if pair else a))

    def penalty(s: float) -> int:
        e = s + seconds
        bad = sum(1 for t, c in zip(times, counts, strict=True) if s <= t < e and c != 1)
        return 10 * bad + sum(1 for a, b in worst if a < e and b >= s)

    candidates = [t for t in times if t + seconds <= end + 1e-6] + [centre]
    best = min(candidates, key=lambda s: (penalty(s), abs(s - centre), s))
    return Span(
        best,
        best + seconds,
        "head_stable",
        f"{len(counts)} head samples; avoids frames without one face and the worst movement, rotation "
        "and orientation samples where it can",
        penalty(best),
    )
