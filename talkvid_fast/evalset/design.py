"""A bench design: dimensions of subgroups with a clip count each, and how a clip's attributes match them.

The default is the TalkVid paper's (Appendix C.4, `paper_design.toml`); any design is a small TOML or JSON
file with the same keys. Attributes come from one place, `clip_attributes`: the clip record's `annotation`
(written by the annotation work) over the source's input `metadata` (the input manifest's extra keys).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

PAPER_DESIGN = Path(__file__).with_name("paper_design.toml")
ATTRIBUTES = ("age", "gender", "ethnicity", "language")


@dataclass(frozen=True)
class Group:
    name: str
    count: int
    values: tuple[str, ...] = ()  #: extra spellings that match (case-insensitive), besides the name
    min: float | None = None  #: numeric attributes: [min, max)
    max: float | None = None
    other: bool = False  #: matches what no other group of the dimension matches


@dataclass(frozen=True)
class Dimension:
    name: str
    attribute: str
    groups: tuple[Group, ...]

    def group_of(self, value: Any) -> str | None:
        """The group a clip's attribute value falls in, or None (no value, or no group matches)."""
        if value is None or value == "":
            return None
        for g in self.groups:
            if not g.other and _matches(g, value):
                return g.name
        return next((g.name for g in self.groups if g.other), None)


@dataclass(frozen=True)
class Design:
    name: str
    clip_seconds: float
    dimensions: tuple[Dimension, ...]
    source: str  #: the file it was read from

    @property
    def total(self) -> int:
        return sum(g.count for d in self.dimensions for g in d.groups)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clip_seconds": self.clip_seconds,
            "source": self.source,
            "dimensions": [
                {"name": d.name, "attribute": d.attribute, "groups": {g.name: g.count for g in d.groups}}
                for d in self.dimensions
            ],
        }


def _matches(g: Group, value: Any) -> bool:
    text = str(value).strip().casefold()
    if text in {g.name.casefold(), *(v.casefold() for v in g.values)}:
        return True
    if g.min is None and g.max is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return (g.min is None or number >= g.min) and (g.max is None or number < g.max)


def clip_attributes(clip: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """age, gender, ethnicity, language of a clip: its record's `annotation` first, else its source's
    input `metadata`; absent keys are left out."""
    out: dict[str, Any] = {}
    for where in (source.get("metadata") or {}, clip.get("annotation") or {}):
        if isinstance(where, dict):
            out.update({k: where[k] for k in ATTRIBUTES if where.get(k) not in (None, "")})
    return out


def load_design(path: str | Path | None = None) -> Design:
    """Reads a design file (TOML or JSON); raises ValueError naming what is wrong."""
    p = Path(path) if path is not None else PAPER_DESIGN
    if not p.is_file():
        raise ValueError(f"design file {p} does not exist")
    try:
        data = json.loads(p.read_text()) if p.suffix == ".json" else tomllib.loads(p.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"design file {p} cannot be parsed: {exc}") from exc
    dims = []
    for i, d in enumerate(data.get("dimension", [])):
        where = f"design {p}, dimension {i}"
        if not isinstance(d, dict) or "name" not in d or not d.get("group"):
            raise ValueError(f"{where}: needs a name and at least one group")
        groups = []
        for g in d["group"]:
            unknown = set(g) - {"name", "count", "values", "min", "max", "other"}
            if unknown or "name" not in g or int(g.get("count", -1)) < 0:
                raise ValueError(
                    f"{where}: group {g} needs a name and a count >= 0; allowed keys: name, count, values, "
                    f"min, max, other (unknown: {sorted(unknown)})"
                )
            groups.append(
                Group(
                    name=str(g["name"]),
                    count=int(g["count"]),
                    values=tuple(str(v) for v in g.get("values", ())),
                    min=None if g.get("min") is None else float(g["min"]),
                    max=None if g.get("max") is None else float(g["max"]),
                    other=bool(g.get("other", False)),
                )
            )
        dims.append(Dimension(str(d["name"]), str(d.get("attribute", d["name"])), tuple(groups)))
    if not dims:
        raise ValueError(f"design {p} has no [[dimension]]")
    names = [d.name for d in dims]
    if len(set(names)) != len(names):
        raise ValueError(f"design {p}: dimension names repeat: {names}")
    return Design(str(data.get("name", p.stem)), float(data.get("clip_seconds", 5.0)), tuple(dims), str(p))
