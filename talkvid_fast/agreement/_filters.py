"""Which label criterion each engine filter decides, and the engine's verdict of a filter on one clip.

Note [Filter map]: a filter is a group of gates of one stage that together decide one human criterion of
`labels.json` (the filters of the TalkVid paper's Table 7: DOVER -> visual quality, CoTracker -> camera
stability, and the head-detail filters):

    segment.speech                         -> speaking        (VAD / subtitle gate of stage 1)
    quality (every gate)                   -> visual_quality  (good = keep, poor = reject, fair = neither)
    motion (every gate but `motion`)       -> camera_stable (the `motion` gate finds frozen video: nothing
                                              moves, a criterion no label names; it stays in `overall`)
    head.movement_avg + movement_min       -> stable_head
    head.rotation_avg + rotation_min       -> still_rotation
    head.orientation_avg + orientation_min -> frontal
    head.completeness_avg + completeness_min -> face_complete
    head.resolution_avg + resolution_min   -> face_large
    head.face_consistency                  -> single_face
    head.crop_* (the face-crop quality gates) -> visual_quality (only where the run's head records have them:
                                              `open`'s stand-in for DOVER, docs/head.md)
    any other stage (every gate)           -> the criterion its name suggests: *speak* -> speaking,
                                              *quality* -> visual_quality; else listed as unmapped
    overall (the clip passed every gate)   -> keep

A filter's verdict on a clip is that all its gates passed. A stage that rejected the clip before computing
the filter's gates (head's `no_face`) rejects it on every criterion of that stage. A stage that did not run,
or failed with an error, leaves the clip undecided for its filters (the errors are counted apart). `--map`
adds or overrides entries for stages this table does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Filter:
    name: str  #: row label, e.g. "head.movement"
    stage: str  #: stage whose result decides it; "segment" reads the clip's stage-1 gates; "overall": passed
    gates: tuple[str, ...]  #: the stage's gates that decide it; () = the stage's verdict as a whole
    criterion: str  #: the labels.json criterion

    def verdict(self, clip: dict[str, Any]) -> Verdict:
        if self.stage == "overall":
            return Verdict(bool(clip.get("passed")), clip.get("first_failed_gate") or "")
        if self.stage == "segment":
            seg = clip.get("gates", {})
            if not all(g in seg for g in self.gates):
                return Verdict(None, "not judged")
            failed = [g for g in self.gates if not seg[g]]
            return Verdict(not failed, f"segment:{clip.get('first_failed_gate')}" if failed else "")
        result = clip.get("stages", {}).get(self.stage)
        if not isinstance(result, dict) or result.get("status") == "not_run":
            return Verdict(None, "not run")
        if result.get("error"):
            return Verdict(None, f"error: {result['error']}", error=True)
        if not self.gates:
            passed = bool(result.get("passed"))
            return Verdict(passed, "" if passed else f"{self.stage}:{result.get('failed_gate')}")
        gates = result.get("gates") or {}
        if all(g in gates for g in self.gates):
            failed = [g for g in self.gates if not gates[g]]
            return Verdict(not failed, f"{self.stage}:{failed[0]}" if failed else "")
        if not result.get("passed") and result.get("failed_gate") not in self.gates:
            return Verdict(False, f"{self.stage}:{result.get('failed_gate')}")
        return Verdict(None, "gates missing")


@dataclass(frozen=True)
class Verdict:
    keep: bool | None  #: None: the filter did not judge this clip
    reason: str = ""  #: the first failing gate as "stage:gate" when rejected
    error: bool = False


_HEAD = (
    ("head.movement", ("movement_avg", "movement_min"), "stable_head"),
    ("head.rotation", ("rotation_avg", "rotation_min"), "still_rotation"),
    ("head.orientation", ("orientation_avg", "orientation_min"), "frontal"),
    ("head.completeness", ("completeness_avg", "completeness_min"), "face_complete"),
    ("head.resolution", ("resolution_avg", "resolution_min"), "face_large"),
    ("head.face_consistency", ("face_consistency",), "single_face"),
)
CROP_GATES = ("crop_sharpness", "crop_exposure", "crop_noise", "crop_blockiness")
KNOWN_STAGES = {"segment", "quality", "motion", "head"}


FROZEN_GATE = "motion"  #: the motion stage's frozen-video gate (not a camera criterion)


def default_filters(
    stages: list[str], recorded: dict[str, set[str]] | None = None
) -> tuple[list[Filter], list[str]]:
    """The filters of Note [Filter map] for the stages a run recorded (`recorded`: the gate names each stage's
    records carry, `recorded_gates`: they decide the face-crop row and the motion row's gates), and the stages
    left unmapped."""
    recorded = recorded or {}
    filters = [Filter("segment.speech", "segment", ("speech",), "speaking")]
    unmapped = []
    crop = tuple(g for g in CROP_GATES if g in recorded.get("head", set()))
    camera = tuple(sorted(recorded.get("motion", set()) - {FROZEN_GATE}))
    for stage in stages:
        if stage == "head":
            filters += [Filter(n, "head", g, c) for n, g, c in _HEAD]
            if crop:
                filters.append(Filter("head.crop_quality", "head", crop, "visual_quality"))
        elif stage == "quality" or "quality" in stage:
            filters.append(Filter(stage, stage, (), "visual_quality"))
        elif stage == "motion":
            filters.append(
                Filter(
                    stage, stage, camera if FROZEN_GATE in recorded.get(stage, set()) else (), "camera_stable"
                )
            )
        elif "speak" in stage:
            filters.append(Filter(stage, stage, (), "speaking"))
        elif stage not in KNOWN_STAGES and stage != "export":
            unmapped.append(stage)
    filters.append(Filter("overall", "overall", (), "keep"))
    return filters, unmapped


def parse_map(items: list[str]) -> list[Filter]:
    """`STAGE[.GATE[+GATE...]]=CRITERION` -> filters (the --map option)."""
    out = []
    for item in items:
        key, sep, criterion = item.partition("=")
        stage, _, gates = key.strip().partition(".")
        if not sep or not stage or not criterion.strip():
            raise ValueError(f"--map {item!r}: expected STAGE[.GATE[+GATE...]]=CRITERION")
        name = key.strip()
        out.append(Filter(name, stage, tuple(g for g in gates.split("+") if g), criterion.strip()))
    return out


def recorded_gates(clips: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every gate name the run's records carry, per stage."""
    gates: dict[str, set[str]] = {}
    for c in clips:
        for stage, result in c.get("stages", {}).items():
            if isinstance(result, dict):
                gates.setdefault(stage, set()).update(result.get("gates") or {})
    return gates


def stages_in(clips: list[dict[str, Any]]) -> list[str]:
    """The filter stages a run recorded, in the order they first appear."""
    seen: dict[str, None] = {}
    for c in clips:
        for s in c.get("stages", {}):
            if s != "segment":
                seen.setdefault(s, None)
    return list(seen)
