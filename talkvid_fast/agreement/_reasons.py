"""Why each clip the labels reject was rejected: do the filters that failed it name a criterion its labels mark
as failed? (Note [Rejection reasons].)

Note [Rejection reasons]: a right `keep = false` verdict can still be right for a wrong reason (a still camera
failed by the motion filter on a clip whose real fault is that no one is on screen). For every unit labelled
`keep: false` that the run judged (the 5 s rule is left out, as in the `keep` row), this lists the criteria
of every filter that rejected it (all stages run unless `--cascade`, so a clip carries every verdict) and the
criteria its labels mark as failed. The rejection *matches* when the two share a criterion. A clip without an
audio stream is rejected by the speech filter for `no_audio`; it matches when the label of `speaking` is false
or the label's `keep` reason names the missing audio (the guideline's "no audio track" negative). Sources that
gave no clip at all (unreadable) are in the `keep` row only. The rule is mechanical: a rejection on a criterion
the labels leave undecided, whose `keep` reason says the same in words, is listed as no match, for a reader to
judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..manifest import RunFolder
from ._filters import Filter
from ._labels import LabelEntry, LabelIndex


@dataclass(frozen=True)
class Rejection:
    unit: str
    file: str
    rejected_on: tuple[str, ...]  #: criteria of the filters that rejected it, in filter order ("" if kept)
    labelled_false: tuple[str, ...]  #: criteria its labels mark as failed
    first_gate: str  #: the first failing gate as recorded ("" when the clip passed every gate)
    keep_reason: str

    @property
    def kept(self) -> bool:
        return not self.rejected_on and not self.first_gate

    @property
    def matches(self) -> bool:
        if set(self.rejected_on) & set(self.labelled_false):
            return True
        return self.first_gate == "no_audio" and "audio" in self.keep_reason.lower()


def rejections(run: RunFolder, entries: list[LabelEntry], filters: list[Filter]) -> list[Rejection]:
    index = LabelIndex(entries)
    criteria = list(dict.fromkeys(f.criterion for f in filters if f.stage != "overall"))
    out = []
    for clip in run.clips:
        first = str(clip.get("first_failed_gate") or "")
        if first == "duration":
            continue
        entry = index.for_clip(clip)
        if entry is None or entry.value("keep") is not False:
            continue
        rejected = [f.criterion for f in filters if f.stage != "overall" and f.verdict(clip).keep is False]
        out.append(
            Rejection(
                unit=str(clip["clip_id"]),
                file=entry.file,
                rejected_on=tuple(dict.fromkeys(rejected)),
                labelled_false=tuple(c for c in criteria if entry.value(c) is False),
                first_gate=first,
                keep_reason=entry.reason("keep"),
            )
        )
    return out


def render_rejections(items: list[Rejection]) -> str:
    if not items:
        return ""
    matched = sum(r.matches for r in items)
    kept = sum(r.kept for r in items)
    lines = [
        "### Why the clips labelled reject were rejected",
        "",
        f"{len(items)} judged clips are labelled `keep: false`: {matched} rejected on a criterion their labels "
        f"fail (or for a missing audio stream the label names), {len(items) - matched - kept} rejected on other "
        f"criteria only, {kept} kept (Note [Rejection reasons]).",
        "",
        "| clip | rejected on | first gate | labelled failed | match | label's keep reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in items:
        match = "kept" if r.kept else ("yes" if r.matches else "no")
        lines.append(
            f"| `{r.unit}` | {', '.join(r.rejected_on) or '-'} | {r.first_gate or '-'} "
            f"| {', '.join(r.labelled_false) or '-'} | {match} | {r.keep_reason[:120]} |"
        )
    lines.append("")
    return "\n".join(lines)


def rejections_json(items: list[Rejection]) -> list[dict[str, Any]]:
    return [{**r.__dict__, "matches": r.matches, "kept": r.kept} for r in items]
