"""`review stats`: agreement between annotators per criterion, and the engine against the gold labels.

Note [Gold labels]: annotators' files are compared entry by entry (the same clip id, else the same file key).
Inter-annotator agreement (IAA) of a criterion is the share of entries both labelled decisively on which they
agree, with Cohen's kappa (mean over pairs with three or more annotators). The gold standard is `--gold` when
given; else the annotators' consensus: an entry's criterion is gold where every annotator who labelled the
entry decided it the same way, and undecided (counting for neither side) where they differ or one is unsure.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from ..agreement import Agreement, Confusion, LabelEntry, agreement, load_labels, mean_defined


def entry_key(e: LabelEntry) -> str:
    return f"clip:{e.clip_id}" if e.clip_id else f"file:{e.file}"


def _by_key(entries: list[LabelEntry]) -> dict[str, LabelEntry]:
    return {entry_key(e): e for e in entries}


def criteria(files: list[list[LabelEntry]]) -> list[str]:
    seen: dict[str, None] = {}
    for entries in files:
        for e in entries:
            seen.update(dict.fromkeys(c for c in e.labels if c != "cuts"))
    return list(seen)


def pair_agreement(a: list[LabelEntry], b: list[LabelEntry], criterion: str) -> Agreement:
    """Agreement of b with a on one criterion, over the entries both labelled decisively."""
    ka, kb = _by_key(a), _by_key(b)
    pairs = [(kb[k].value(criterion), ka[k].value(criterion)) for k in ka.keys() & kb.keys()]
    return agreement(Confusion.of(pairs))


def iaa(files: list[list[LabelEntry]], criterion: str) -> Agreement | None:
    """IAA of one criterion (None with fewer than two annotators); mean over pairs beyond two."""
    if len(files) < 2:
        return None
    got = [pair_agreement(a, b, criterion) for a, b in combinations(files, 2)]
    return Agreement(
        n=got[0].n if len(got) == 1 else sum(g.n for g in got),
        accuracy=mean_defined(g.accuracy for g in got),
        precision=None,
        recall=None,
        f1=None,
        kappa=mean_defined(g.kappa for g in got),
    )


def consensus(files: list[list[LabelEntry]]) -> list[LabelEntry]:
    """The gold labels of Note [Gold labels] when no --gold file is given."""
    keyed = [_by_key(entries) for entries in files]
    keys: dict[str, None] = {}
    for k in keyed:
        keys.update(dict.fromkeys(k))
    out = []
    for key in keys:
        have = [k[key] for k in keyed if key in k]
        labels = {}
        for criterion in dict.fromkeys(c for e in have for c in e.labels if c != "cuts"):
            values = [e.value(criterion) if criterion in e.labels else None for e in have]
            agreed = values[0] if values[0] is not None and all(v == values[0] for v in values) else None
            labels[criterion] = {
                "value": "uncertain" if agreed is None else agreed,
                "reason": "; ".join(e.reason(criterion) for e in have if e.reason(criterion)),
            }
        first = have[0]
        out.append(LabelEntry(first.file, labels, first.clip_id, "consensus"))
    return out


def load_annotators(paths: list[Path]) -> list[list[LabelEntry]]:
    return [load_labels(p) for p in paths]


def render_iaa(files: list[list[LabelEntry]], names: list[str]) -> str:
    lines = [
        f"## Inter-annotator agreement ({', '.join(names)})",
        "",
        "| Criterion | n | IAA (%) | κ |",
        "|---|---:|---:|---:|",
    ]
    for c in criteria(files):
        a = iaa(files, c)
        if a is None:
            continue
        pct = "n/a" if a.accuracy is None else f"{100 * a.accuracy:.1f}"
        k = "n/a" if a.kappa is None else f"{a.kappa:.3f}"
        lines.append(f"| {c} | {a.n} | {pct} | {k} |")
    return "\n".join(lines)
