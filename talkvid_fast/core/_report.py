"""The Core selection's summary: core_selection.json (with the selected clip ids) and core_selection.md."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..manifest import write_atomic
from ._select import CoreSelection

JSON_NAME = "core_selection.json"
MD_NAME = "core_selection.md"


def summary_dict(sel: CoreSelection) -> dict[str, Any]:
    p = sel.params
    return {
        "params": {**asdict(p), "strata": list(p.strata)},
        "target_hours": round(sel.target_seconds / 3600, 4),
        "got_hours": round(sel.got_seconds / 3600, 4),
        "shortfall_hours": round(sel.shortfall_seconds / 3600, 4),
        "level_hours": None if sel.level_seconds == float("inf") else round(sel.level_seconds / 3600, 4),
        "run_clips": sel.run_clips,
        "run_passed": sel.run_passed,
        "failed_rules": sel.failed_rules,
        "excluded_unknown": sel.excluded_unknown,
        "groups_from": sel.groups_from,
        "strata": [
            {
                "groups": dict(zip(p.strata, s.groups, strict=True)),
                "have_clips": s.have_clips,
                "have_hours": round(s.have_seconds / 3600, 4),
                "allotted_hours": round(s.allotted_seconds / 3600, 4),
                "got_clips": s.got_clips,
                "got_hours": round(s.got_seconds / 3600, 4),
            }
            for s in sel.strata
        ],
        "selected": sel.selected,
    }


def markdown(sel: CoreSelection) -> str:
    p = sel.params
    lines = [
        "# TalkVid-Core selection",
        "",
        f"Target {sel.target_seconds / 3600:.2f} h, got {sel.got_seconds / 3600:.2f} h "
        f"({len(sel.selected)} clips), shortfall {sel.shortfall_seconds / 3600:.2f} h; seed {p.seed}; "
        f"parameters `{p.source}`.",
        f"Run: {sel.run_clips} clips, {sel.run_passed} passed its gates; "
        f"{sum(sel.failed_rules.values())} failed a [core] rule; {sel.excluded_unknown} had an unknown group; "
        f"groups from: {', '.join(f'{k} {v}' for k, v in sorted(sel.groups_from.items())) or 'none'}.",
        "",
        "| " + " | ".join(p.strata) + " | have clips | have h | allotted h | got clips | got h |",
        "|" + "---|" * (len(p.strata) + 5),
    ]
    for s in sel.strata:
        lines.append(
            "| " + " | ".join(s.groups) + f" | {s.have_clips} | {s.have_seconds / 3600:.3f} | "
            f"{s.allotted_seconds / 3600:.3f} | {s.got_clips} | {s.got_seconds / 3600:.3f} |"
        )
    if sel.failed_rules:
        lines += ["", "| first failed [core] rule | clips |", "|---|---|"]
        lines += [f"| `{k}` | {v} |" for k, v in sorted(sel.failed_rules.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines) + "\n"


def write_report(sel: CoreSelection, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    jpath, mpath = folder / JSON_NAME, folder / MD_NAME
    write_atomic(jpath, json.dumps(summary_dict(sel), indent=1).encode())
    write_atomic(mpath, markdown(sel).encode())
    return jpath, mpath
