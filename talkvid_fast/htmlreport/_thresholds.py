"""Which score each gate reads and the threshold it applies, from the profile section the run used.

The stages do not record their thresholds in the clip records, so the report reads them from the profile
(run.json keeps its parameters). Known stages are spelled out; for any other stage a gate named like one
of its scores is drawn at `thresholds.<gate>`, `<gate>_threshold`, `min_<gate>` or (one gate only)
`threshold` of its section, and its other scores are drawn without a line.
"""

from __future__ import annotations

from typing import Any

Line = tuple[float, str]  #: (value, "pass if >= 7.0")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def score_lines(stage: str, section: dict[str, Any], gates: list[str]) -> dict[str, list[Line]]:
    """score name -> threshold lines for one stage; `gates`: the gate names its records carry."""
    if stage == "segment":
        out: dict[str, list[Line]] = {}
        if (v := _num(section.get("vad_min_speech", 0.5))) is not None:
            out["speech_fraction"] = [(v, f"speech gate: pass if >= {v:g}")]
        return out
    if stage == "quality":
        v = _num(section.get("threshold"))
        return {"dover_score": [(v, f"pass if >= {v:g}")]} if v is not None else {}
    if stage == "motion":
        lo, hi = _num(section.get("gate_min")), _num(section.get("gate_max"))
        if section.get("method", "paper") == "official" or lo is None or hi is None:
            return {}
        return {"stability_ratio": [(lo, f"pass if >= {lo:g}"), (hi, f"and <= {hi:g}")]}
    if stage == "head":
        from ..head.scores_reference import GATES

        table = dict(section.get("thresholds") or {})
        return {
            score: [
                (float(table.get(gate, default)), f"{gate}: pass if >= {float(table.get(gate, default)):g}")
            ]
            for gate, score, default in GATES
        }
    out = {}
    raw = section.get("thresholds")
    thresholds: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for gate in gates:
        for key in (f"{gate}_threshold", f"min_{gate}"):
            if (v := _num(section.get(key))) is not None:
                break
        else:
            v = _num(thresholds.get(gate))
            if v is None and len(gates) == 1:
                v = _num(section.get("threshold"))
        if v is not None:
            out[gate] = [(v, f"{gate}: pass if >= {v:g} (profile)")]
    return out
