"""run.json: what a run was made with, checked when it is resumed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..profile import Profile
from ._journal import write_atomic

RUN_INFO = "run.json"


class ProfileChanged(RuntimeError):
    """The output folder was made with another profile; the message says how to proceed."""


def check_or_write_run_info(folder: Path, profile: Profile, stages: list[str], fresh: bool) -> dict[str, Any]:
    """Writes run.json for a new run; on resume, raises ProfileChanged if the profile differs."""
    path = folder / RUN_INFO
    info = {
        "profile": profile.name,
        "profile_source": profile.source,
        "profile_digest": profile.digest,
        "stages": stages,
        "sections": profile.sections,  # the parameters themselves: the report draws their thresholds
    }
    if path.exists() and not fresh:
        old = json.loads(path.read_text())
        if old.get("profile_digest") != profile.digest:
            raise ProfileChanged(
                f"{folder} was made with profile {old.get('profile')!r} (digest {old.get('profile_digest')}), "
                f"this run uses {profile.name!r} (digest {profile.digest}). Use another --output, "
                f"or pass --fresh to discard the old records."
            )
        return old
    write_atomic(path, json.dumps(info, indent=2).encode())
    return info
