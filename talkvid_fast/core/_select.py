"""TalkVid-Core selection: stricter thresholds, then uniform sampling across strata (Note [Core sampling]).

Note [Core sampling]: candidates are the run's passing clips that meet every [core] rule. Each is put in a
stratum by its groups (ethnicity x gender x age by default) from its annotation (annotations.jsonl), else its
input metadata (e.g. TalkVid's released "Ethnicity", "Gender", "Age Group"). Hours are shared out by water
filling: every stratum is allotted min(have, q), with the level q chosen so the allotments add up to the
target, so a stratum with less than an equal share gives all it has and what it cannot give is shared
equally among the others; when all strata together have less than the target, every clip is taken and the
shortfall is reported. Within a stratum the clips are shuffled by a generator seeded with (seed, stratum)
and taken in that order until the stratum's hours reach its allotment (the last clip may go past it by less
than its own length), so the same run, annotations and seed give the same selection, and one stratum's
order does not depend on which other strata exist.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..annotate._validate import AGE_GROUPS, ETHNICITIES, GENDERS, UNKNOWN, normalise_group
from ._params import CoreParams

_METADATA_KEYS = {
    "ethnicity": ("ethnicity",),
    "gender": ("gender",),
    "age": ("age_group", "age group", "age"),
    "language": ("language",),
}


@dataclass
class Stratum:
    groups: tuple[str, ...]
    have_clips: int = 0
    have_seconds: float = 0.0
    allotted_seconds: float = 0.0
    got_clips: int = 0
    got_seconds: float = 0.0


@dataclass
class CoreSelection:
    params: CoreParams
    target_seconds: float
    selected: list[str] = field(default_factory=list)  #: clip ids, stratum by stratum, in sampling order
    strata: list[Stratum] = field(default_factory=list)
    run_clips: int = 0  #: clips in the run
    run_passed: int = 0  #: clips that passed the run's gates
    failed_rules: dict[str, int] = field(
        default_factory=dict
    )  #: passing clips excluded, by first failed rule
    excluded_unknown: int = 0  #: clips left out for an unknown group (unknown = "exclude")
    groups_from: dict[str, int] = field(default_factory=dict)  #: candidates by where their groups came from
    level_seconds: float = math.inf  #: the water level q (inf: every stratum gave all it has)

    @property
    def got_seconds(self) -> float:
        return sum(s.got_seconds for s in self.strata)

    @property
    def shortfall_seconds(self) -> float:
        return max(0.0, self.target_seconds - self.got_seconds)


def score_of(clip: dict[str, Any], name: str) -> float | None:
    """A clip's score "stage.score", or None when the stage did not record it."""
    stage, score = name.split(".", 1)
    value = ((clip.get("stages") or {}).get(stage) or {}).get("scores", {}).get(score)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def first_failed_rule(clip: dict[str, Any], params: CoreParams) -> str | None:
    """The first [core] rule the clip does not meet, e.g. "quality.dover_score>=8.0" or "missing:..."."""
    for rules, op in ((params.min, ">="), (params.max, "<=")):
        for name, bound in rules.items():
            value = score_of(clip, name)
            if value is None:
                if params.missing == "fail":
                    return f"missing:{name}"
                continue
            if (value < bound) if op == ">=" else (value > bound):
                return f"{name}{op}{bound:g}"
    return None


def clip_groups(
    annotation: dict[str, Any] | None, metadata: dict[str, Any], strata: tuple[str, ...]
) -> tuple[tuple[str, ...], str]:
    """(the clip's group in each dimension, where they came from: annotation | metadata | none)."""
    if annotation:
        return tuple(normalise_group(d, annotation.get(d)) for d in strata), "annotation"
    lowered = {str(k).lower(): v for k, v in metadata.items()}
    groups = []
    for d in strata:
        value = next((lowered[k] for k in _METADATA_KEYS[d] if k in lowered), None)
        groups.append(normalise_group(d, value))
    found = any(g != UNKNOWN for g in groups)
    return tuple(groups), "metadata" if found else "none"


def water_level(haves: list[float], target: float) -> float:
    """The q with sum(min(h, q)) == target (Note [Core sampling]); inf when sum(haves) <= target."""
    remaining = target
    ordered = sorted(haves)
    for i, have in enumerate(ordered):
        left = len(ordered) - i
        if have * left >= remaining:
            return remaining / left
        remaining -= have
    return math.inf


def _stratum_rng(seed: int, groups: tuple[str, ...]) -> np.random.Generator:
    digest = int(hashlib.sha256("\x1f".join(groups).encode()).hexdigest()[:8], 16)
    return np.random.default_rng([seed, digest])


def select_core(
    clips: list[dict[str, Any]],
    sources: dict[str, dict[str, Any]],
    annotations: dict[str, dict[str, Any]],
    params: CoreParams,
) -> CoreSelection:
    """The TalkVid-Core selection of a run's clip records (Note [Core sampling])."""
    result = CoreSelection(params=params, target_seconds=params.hours * 3600.0, run_clips=len(clips))
    by_stratum: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for clip in clips:
        if not clip.get("passed"):
            continue
        result.run_passed += 1
        failed = first_failed_rule(clip, params)
        if failed is not None:
            result.failed_rules[failed] = result.failed_rules.get(failed, 0) + 1
            continue
        metadata = dict((sources.get(clip.get("source_id", "")) or {}).get("metadata") or {})
        groups, origin = clip_groups(annotations.get(clip["clip_id"]), metadata, params.strata)
        if UNKNOWN in groups and params.unknown == "exclude":
            result.excluded_unknown += 1
            continue
        result.groups_from[origin] = result.groups_from.get(origin, 0) + 1
        by_stratum.setdefault(groups, []).append(clip)
    if "language" not in params.strata:  # closed sets of groups: list the empty strata too
        closed = {"ethnicity": ETHNICITIES, "gender": GENDERS, "age": AGE_GROUPS}
        for combo in itertools.product(*(closed[d] for d in params.strata)):
            by_stratum.setdefault(tuple(combo), [])
    keys = sorted(by_stratum)
    haves = [sum(float(c["duration"]) for c in by_stratum[k]) for k in keys]
    result.level_seconds = water_level(haves, result.target_seconds)
    for key, have in zip(keys, haves, strict=True):
        members = sorted(by_stratum[key], key=lambda c: str(c["clip_id"]))
        stratum = Stratum(key, len(members), have, min(have, result.level_seconds))
        for i in _stratum_rng(params.seed, key).permutation(len(members)):
            if stratum.got_seconds >= stratum.allotted_seconds - 1e-9:
                break
            stratum.got_clips += 1
            stratum.got_seconds += float(members[i]["duration"])
            result.selected.append(str(members[i]["clip_id"]))
        result.strata.append(stratum)
    return result
