"""Profiles: a versioned TOML file of parameters (`paper`, `official`, or a user's edited copy)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

BUILTIN = ("paper", "official", "open")
SECTIONS = ("segment", "quality", "motion", "head", "speaker")


@dataclass(frozen=True)
class Profile:
    name: str
    version: int
    source: str  #: builtin name or file path it was read from
    sections: dict[str, dict[str, Any]]

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})

    @property
    def digest(self) -> str:
        """Hash of the parameters: a resumed run compares it to detect a changed profile."""
        blob = json.dumps(
            {"name": self.name, "version": self.version, "sections": self.sections}, sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_profile(name_or_path: str) -> Profile:
    """Reads a built-in profile by name or a TOML file by path; raises ValueError with the allowed values."""
    if name_or_path in BUILTIN:
        text = resources.files("talkvid_fast.profiles").joinpath(f"{name_or_path}.toml").read_text()
        source = name_or_path
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ValueError(
                f"profile {name_or_path!r} is neither a built-in ({', '.join(BUILTIN)}) nor a file"
            )
        text = path.read_text()
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"profile {source}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"name", "version", *SECTIONS}
    if unknown:
        raise ValueError(
            f"profile {source}: unknown keys {sorted(unknown)}; allowed: name, version, {', '.join(SECTIONS)}"
        )
    return Profile(
        name=str(data.get("name", Path(source).stem)),
        version=int(data.get("version", 1)),
        source=source,
        sections={s: dict(data.get(s, {})) for s in SECTIONS},
    )
