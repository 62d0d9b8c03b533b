"""Table 7 of the TalkVid paper for one run against one label file: per filter accuracy, precision, recall,
F1 and Cohen's kappa, with the clips each filter gets wrong (and, from `review stats`, the annotators' IAA)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..manifest import RunFolder
from ._filters import Filter
from ._labels import LabelEntry, LabelIndex
from ._stats import Agreement, Confusion, agreement, mean_defined


@dataclass(frozen=True)
class Miss:
    """One clip a filter gets wrong."""

    unit: str  #: clip id, or source id for a source that gave no clip
    file: str
    engine_keeps: bool
    engine_reason: str  #: the gate that rejected it ("" when kept)
    label_reason: str


@dataclass
class Row:
    filter: str
    criterion: str
    confusion: Confusion
    stats: Agreement
    undecided_labels: int = 0  #: clips the filter judged whose label is uncertain / borderline
    unlabelled: int = 0  #: clips the filter judged with no label entry
    errors: int = 0  #: clips the filter could not judge because its stage failed
    too_short: int = 0  #: `keep` only: sources whose every clip failed the 5 s rule (Note [Keep units])
    misses: list[Miss] = field(default_factory=list)
    iaa: Agreement | None = None  #: agreement between two annotators on this criterion (review stats)
    conflicts: list[str] = field(default_factory=list)  #: units labelled keep but rejected on this criterion
    ceiling: Confusion = field(
        default_factory=Confusion
    )  #: the best a filter can do (Note [Labels against keep])

    @property
    def ceiling_stats(self) -> Agreement:
        return agreement(self.ceiling)


Unit = tuple[str, str, dict[str, Any] | None, dict[str, Any]]

# Note [Labels against keep]: `overall` keeps a clip only when every gate passes it, so a clip labelled `keep`
# but rejected on a filter's own criterion (a head that turns, labelled "keep" all the same) cannot be right
# in both rows: a filter that rejects it, as its criterion says, loses it from `overall`. Such clips are the
# row's `conflicts`; `ceiling` is the confusion of a filter that agrees with the criterion on every other clip
# it judged and passes these: TP = the criterion's positives, FP = the conflicts, TN = the other negatives.
# Its F1 is the most any filter can reach here without rejecting a clip the labels keep.


def _units(run: RunFolder, f: Filter) -> list[Unit]:
    """(unit id, source path, clip record or None, source record) the filter is scored on."""
    by_source = {s["source_id"]: s for s in run.sources}
    units: list[Unit] = []
    for c in run.clips:
        if f.stage == "overall" and c.get("first_failed_gate") == "duration":
            continue  # the 5 s rule is not a human criterion (Note [Keep units])
        units.append((c["clip_id"], c.get("source_path", ""), c, by_source.get(c["source_id"], {})))
    if f.stage == "overall":
        # Note [Keep units]: `keep` is a human judgement of content, the 5 s rule is not, so clips failing
        # only that rule are left out. A source that gave no clip at all (unreadable, no scene) is rejected
        # as a whole and counts once, with its error as the reason.
        seen = {c["source_id"] for c in run.clips}
        for s in run.sources:
            if s["source_id"] not in seen:
                units.append((s["source_id"], s.get("path", ""), None, s))
    return units


UNITS = ("clip", "file")

# Note [File units]: labels made per file (testmedia/labels.json) give every clip of a multi-shot file the
# file's labels, so a file cut into four clips counts four times. `unit = "file"` scores each source once
# against its file's label. A criterion label describes the whole file ("any noticeable turn" fails it), so a
# filter passes a file when it passes every clip of it it judged; `keep` asks whether the file yields
# training data, so `overall` keeps a file when it keeps any clip of it. Single-clip files count the same
# either way. Labels made per clip (the review page's) want `clip`.


def evaluate(
    run: RunFolder, entries: list[LabelEntry], filters: list[Filter], unit: str = "clip"
) -> list[Row]:
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}; allowed: {', '.join(UNITS)}")
    index = LabelIndex(entries)
    rows = []
    for f in filters:
        pairs: list[tuple[bool | None, bool | None]] = []
        row = Row(f.name, f.criterion, Confusion(), agreement(Confusion()))
        if f.stage == "overall":
            with_clips = {c["source_id"] for c in run.clips}
            judged = {c["source_id"] for c in run.clips if c.get("first_failed_gate") != "duration"}
            row.too_short = len(with_clips - judged)
        verdicts: dict[str, tuple[bool, str, LabelEntry | None]] = {}  # unit -> kept, reason, label entry
        for name, path, clip, source in _units(run, f):
            if clip is None:
                errors = source.get("errors") or []
                keep, reason = False, (errors[0]["reason"] if errors else "no clip")
                entry = index.for_source(path, str(source.get("source_id", "")))
            else:
                v = f.verdict(clip)
                if v.error:
                    row.errors += 1
                if v.keep is None:
                    continue
                keep, reason = v.keep, v.reason
                if unit == "file":
                    name = str(clip["source_id"])
                    entry = index.for_source(path, name)
                else:
                    entry = index.for_clip(clip)
            if name in verdicts:  # Note [File units]: `keep` by any clip, a criterion by every clip
                was, why = verdicts[name][:2]
                if f.stage == "overall":
                    keep, reason = was or keep, "" if (was or keep) else why
                else:
                    keep, reason = was and keep, why or reason
            verdicts[name] = (keep, reason, entry)
        for name, (keep, reason, entry) in verdicts.items():
            if entry is None:
                row.unlabelled += 1
                continue
            truth = entry.value(f.criterion)
            if truth is None:
                row.undecided_labels += 1
                continue
            pairs.append((keep, truth))
            if f.criterion != "keep" and truth is False and entry.value("keep") is True:
                row.conflicts.append(name)
            if keep != truth:
                row.misses.append(Miss(name, entry.file, keep, reason, entry.reason(f.criterion)))
        row.confusion = Confusion.of(pairs)
        row.stats = agreement(row.confusion)
        c, k = row.confusion, len(row.conflicts)
        row.ceiling = Confusion(c.tp + c.fn, k, 0, c.fp + c.tn - k)
        rows.append(row)
    return rows


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def _k(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def render_markdown(rows: list[Row], title: str) -> str:
    lines = [
        f"## {title}",
        "",
        "| Filter | Criterion | n | IAA (%) | κ annotators | Accuracy (%) | Precision (%) | Recall (%) | F1 (%) | κ | TP/FP/FN/TN | undecided | unlabelled | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]

    def line(name: str, crit: str, n: str, iaa: Agreement | None, s: Agreement, cells: str) -> str:
        return (
            f"| {name} | {crit} | {n} | {_pct(iaa.accuracy if iaa else None)} | {_k(iaa.kappa if iaa else None)} "
            f"| {_pct(s.accuracy)} | {_pct(s.precision)} | {_pct(s.recall)} | {_pct(s.f1)} | {_k(s.kappa)} | {cells} |"
        )

    filters = [r for r in rows if r.filter != "overall"]
    for r in filters:
        c = r.confusion
        cells = f"{c.tp}/{c.fp}/{c.fn}/{c.tn} | {r.undecided_labels} | {r.unlabelled} | {r.errors}"
        lines.append(line(r.filter, r.criterion, str(r.stats.n), r.iaa, r.stats, cells))
    if filters:
        avg = average(filters)
        iaa_avg = average_iaa(filters)
        lines.append(line("**average**", "", "", iaa_avg, avg, " | | |"))
    for r in rows:
        if r.filter == "overall":
            c = r.confusion
            cells = f"{c.tp}/{c.fp}/{c.fn}/{c.tn} | {r.undecided_labels} | {r.unlabelled} | {r.errors}"
            lines.append(
                line("overall (passed every gate)", r.criterion, str(r.stats.n), r.iaa, r.stats, cells)
            )
    short = sum(r.too_short for r in rows)
    lines += [
        "",
        "Positive = keep. Undecided labels (uncertain, borderline, a `fair` grade) count for neither side. "
        "A filter scores the clips it judged (stage 1 passed, stage ran without error); `overall` leaves out "
        f"clips that failed only the 5 s rule ({short} sources gave no longer clip) and counts each source that "
        "gave no clip at all (unreadable) once.",
        "",
    ]
    conflicted = [r for r in rows if r.conflicts]
    if conflicted:
        lines += [
            "### Labels that contradict `keep`",
            "",
            "Clips labelled `keep` but rejected on the filter's own criterion: a filter that rejects them loses "
            "them from `overall`, so its F1 cannot exceed the ceiling below without doing so.",
            "",
            "| Filter | Criterion | conflicts | F1 ceiling (%) | F1 (%) | clips |",
            "|---|---|---:|---:|---:|---|",
        ]
        for r in conflicted:
            units = ", ".join(f"`{u}`" for u in r.conflicts)
            lines.append(
                f"| {r.filter} | {r.criterion} | {len(r.conflicts)} | {_pct(r.ceiling_stats.f1)} "
                f"| {_pct(r.stats.f1)} | {units} |"
            )
        lines.append("")
    lines.append("### Clips each filter gets wrong")
    lines.append("")
    for r in rows:
        if not r.misses:
            continue
        lines.append(f"**{r.filter}** ({r.criterion}):")
        for m in r.misses:
            what = (
                "kept, labelled reject" if m.engine_keeps else f"rejected ({m.engine_reason}), labelled keep"
            )
            lines.append(f"- `{m.unit}` ({m.file}): {what}; label: {m.label_reason}")
        lines.append("")
    return "\n".join(lines)


def average(rows: list[Row]) -> Agreement:
    """The mean over filters of each figure (the paper's "average" row)."""
    return Agreement(
        n=sum(r.stats.n for r in rows),
        accuracy=mean_defined(r.stats.accuracy for r in rows),
        precision=mean_defined(r.stats.precision for r in rows),
        recall=mean_defined(r.stats.recall for r in rows),
        f1=mean_defined(r.stats.f1 for r in rows),
        kappa=mean_defined(r.stats.kappa for r in rows),
    )


def average_iaa(rows: list[Row]) -> Agreement | None:
    got = [r.iaa for r in rows if r.iaa is not None]
    if not got:
        return None
    return Agreement(
        n=sum(a.n for a in got),
        accuracy=mean_defined(a.accuracy for a in got),
        precision=None,
        recall=None,
        f1=None,
        kappa=mean_defined(a.kappa for a in got),
    )


def to_json(rows: list[Row]) -> dict[str, Any]:
    filters = [r for r in rows if r.filter != "overall"]
    return {
        "rows": [{**asdict(r), "ceiling_stats": asdict(r.ceiling_stats)} for r in rows],
        "average": asdict(average(filters)) if filters else None,
        "average_iaa": (lambda a: asdict(a) if a else None)(average_iaa(filters)),
    }
