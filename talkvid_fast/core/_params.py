"""TalkVid-Core parameters: the shipped `core.toml` or a user's TOML file with a [core] section."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

DIMENSIONS = ("ethnicity", "gender", "age", "language")
KEYS = ("hours", "seed", "strata", "unknown", "missing", "min", "max")


@dataclass(frozen=True)
class CoreParams:
    hours: float = 160.0
    seed: int = 0
    strata: tuple[str, ...] = ("ethnicity", "gender", "age")
    unknown: str = "exclude"  #: exclude | keep
    missing: str = "fail"  #: fail | ignore
    min: dict[str, float] = field(default_factory=dict)  #: "stage.score" -> lowest value kept
    max: dict[str, float] = field(default_factory=dict)  #: "stage.score" -> highest value kept
    source: str = "core"

    def __post_init__(self) -> None:
        problems = []
        if not self.hours > 0:
            problems.append(f"hours must be > 0, got {self.hours}")
        bad = [s for s in self.strata if s not in DIMENSIONS]
        if bad or not self.strata or len(set(self.strata)) != len(self.strata):
            problems.append(f"strata {list(self.strata)}: pick distinct ones of {', '.join(DIMENSIONS)}")
        if self.unknown not in ("exclude", "keep"):
            problems.append(f"unknown {self.unknown!r}: allowed exclude, keep")
        if self.missing not in ("fail", "ignore"):
            problems.append(f"missing {self.missing!r}: allowed fail, ignore")
        for name in (*self.min, *self.max):
            if name.count(".") != 1:
                problems.append(f'rule {name!r}: write it as "stage.score", e.g. "quality.dover_score"')
        if problems:
            raise ValueError(f"core parameters ({self.source}): " + "; ".join(problems))


def load_core_params(name_or_path: str = "core") -> CoreParams:
    """`core` (shipped) or a TOML file with a [core] section; raises ValueError listing what is allowed."""
    if name_or_path == "core":
        text, source = resources.files("talkvid_fast.core").joinpath("core.toml").read_text(), "core"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ValueError(f"core profile {name_or_path!r} is neither 'core' nor a file")
        text, source = path.read_text(), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from exc
    section: dict[str, Any] = data.get("core", {})
    if not isinstance(section, dict) or not section:
        raise ValueError(f"{source}: no [core] section")
    unknown = set(section) - set(KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown [core] keys {sorted(unknown)}; allowed: {', '.join(KEYS)}")
    return CoreParams(
        hours=float(section.get("hours", 160.0)),
        seed=int(section.get("seed", 0)),
        strata=tuple(section.get("strata", ("ethnicity", "gender", "age"))),
        unknown=str(section.get("unknown", "exclude")),
        missing=str(section.get("missing", "fail")),
        min={k: float(v) for k, v in section.get("min", {}).items()},
        max={k: float(v) for k, v in section.get("max", {}).items()},
        source=source,
    )
