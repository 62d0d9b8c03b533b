"""A finished (or running) output folder, read only: run.json, the committed journal, the profile used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._journal import JOURNAL, read_committed
from ._run_info import RUN_INFO


@dataclass
class RunFolder:
    """What a run wrote, as plain records (the journal's clip and source records, in commit order)."""

    folder: Path
    info: dict[str, Any]  #: run.json
    sources: list[dict[str, Any]]
    clips: list[dict[str, Any]]
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)  #: the profile's parameters, if known

    @property
    def profile_name(self) -> str:
        return str(self.info.get("profile", "?"))

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})

    def records(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """(source record, its clip records), as `Journal.records()`."""
        by_source: dict[str, list[dict[str, Any]]] = {}
        for c in self.clips:
            by_source.setdefault(c["source_id"], []).append(c)
        for s in self.sources:
            yield s, by_source.get(s["source_id"], [])


def read_run(folder: Path) -> RunFolder:
    """Reads an output folder without writing to it; raises FileNotFoundError when it holds no journal."""
    folder = Path(folder)
    if not (folder / JOURNAL).is_file():
        raise FileNotFoundError(f"{folder} holds no {JOURNAL}: not a talkvid_fast output folder")
    info: dict[str, Any] = {}
    if (folder / RUN_INFO).is_file():
        info = json.loads((folder / RUN_INFO).read_text())
    sources, clips, _ = read_committed(folder / JOURNAL)
    return RunFolder(
        folder=folder,
        info=info,
        sources=list(sources.values()),
        clips=[c for sid in sources for c in clips[sid]],
        sections=_sections(info),
    )


def _sections(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """run.json's copy of the parameters; for folders written before it kept one, the profile re-read by
    name or path, used only when its digest still matches."""
    if isinstance(info.get("sections"), dict):
        return dict(info["sections"])
    from ..profile import load_profile

    try:
        profile = load_profile(str(info.get("profile_source", info.get("profile", ""))))
    except ValueError:
        return {}
    return profile.sections if profile.digest == info.get("profile_digest") else {}
