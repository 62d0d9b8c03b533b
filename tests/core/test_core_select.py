"""TalkVid-Core selection on synthetic run records with known strata (Note [Core sampling])."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.annotate import AnnotationStore
from talkvid_fast.core import CoreParams, load_core_params, select_core, water_level
from talkvid_fast.core.__main__ import main

from ..annotate.runs import clip_record, make_run

NO_RULES = CoreParams(hours=1.0, strata=("ethnicity", "gender"), min={}, max={})


def _population(
    sizes: dict[tuple[str, str], int], seconds: float = 10.0
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Clips of `seconds` each, `n` per (ethnicity, gender) stratum, with their annotations."""
    clips, annotations = [], {}
    for (eth, gender), n in sizes.items():
        for i in range(n):
            clip = clip_record(f"{eth}{gender}", i + 1, 0.0, seconds)
            clips.append(clip)
            annotations[clip["clip_id"]] = {"ethnicity": eth, "gender": gender, "age": "31-45"}
    return clips, annotations


def _got(sel: Any) -> dict[tuple[str, ...], int]:
    return {s.groups: s.got_clips for s in sel.strata if s.have_clips}


def test_water_level() -> None:
    assert water_level([1000, 200, 50], 900) == 650  # 50 + 200 + 650
    assert water_level([100, 100, 100, 100], 400) == 100
    assert water_level([0, 30, 30], 40) == 20
    assert water_level([10, 20], 31) == float("inf")


def test_small_strata_give_all_and_the_rest_is_shared(tmp_path: Path) -> None:
    clips, ann = _population({("White", "Male"): 100, ("Asian", "Female"): 20, ("Black", "Male"): 5})
    sel = select_core(clips, {}, ann, dataclasses.replace(NO_RULES, hours=900 / 3600))
    assert _got(sel) == {("White", "Male"): 65, ("Asian", "Female"): 20, ("Black", "Male"): 5}
    assert sel.got_seconds == 900 and sel.shortfall_seconds == 0 and len(sel.selected) == 90
    # the other (ethnicity x gender) strata are listed, empty
    assert len(sel.strata) == 4 * 2 and sum(1 for s in sel.strata if s.have_clips == 0) == 5


def test_equal_strata_get_equal_shares() -> None:
    sizes = {
        ("White", "Male"): 100,
        ("White", "Female"): 100,
        ("Asian", "Male"): 100,
        ("Black", "Female"): 100,
    }
    clips, ann = _population(sizes)
    sel = select_core(clips, {}, ann, dataclasses.replace(NO_RULES, hours=400 / 3600))
    assert set(_got(sel).values()) == {10}


def test_too_little_takes_everything_and_reports_the_shortfall() -> None:
    clips, ann = _population({("White", "Male"): 100, ("Asian", "Female"): 20, ("Black", "Male"): 5})
    sel = select_core(clips, {}, ann, dataclasses.replace(NO_RULES, hours=2000 / 3600))
    assert len(sel.selected) == 125 and sel.got_seconds == 1250 and sel.shortfall_seconds == 750


def test_uneven_lengths_overshoot_by_less_than_one_clip() -> None:
    clips, ann = _population({("White", "Male"): 0})
    for i in range(60):  # 3 s .. 14.8 s clips in two strata
        for eth in ("White", "Asian"):
            clip = clip_record(eth, i + 1, 0.0, 3.0 + 0.2 * i)
            clips.append(clip)
            ann[clip["clip_id"]] = {"ethnicity": eth, "gender": "Male"}
    sel = select_core(clips, {}, ann, dataclasses.replace(NO_RULES, hours=200 / 3600))
    for s in sel.strata:
        if s.have_clips:
            assert s.allotted_seconds == 100 and 100 <= s.got_seconds < 100 + 14.8


def test_the_seed_makes_it_reproducible() -> None:
    clips, ann = _population({("White", "Male"): 50, ("Asian", "Female"): 50})
    params = dataclasses.replace(NO_RULES, hours=200 / 3600)
    a = select_core(clips, {}, ann, params).selected
    assert a == select_core(list(reversed(clips)), {}, ann, params).selected  # not the input order
    b = select_core(clips, {}, ann, dataclasses.replace(params, seed=1)).selected
    assert sorted(a) != sorted(b) and len(a) == len(b) == 20


def _scored(n: int, dover: float | None, ratio: float, passed: bool = True) -> dict[str, Any]:
    stages: dict[str, Any] = {"motion": {"scores": {"stability_ratio": ratio}}}
    if dover is not None:
        stages["quality"] = {"scores": {"dover_score": dover}}
    return clip_record("s", n, 0.0, 10.0, passed=passed, stages=stages)


def test_thresholds_filter_exactly() -> None:
    params = dataclasses.replace(
        NO_RULES,
        hours=10.0,
        min={"quality.dover_score": 8.0, "motion.stability_ratio": 0.88},
        max={"motion.stability_ratio": 0.995},
    )
    clips = [
        _scored(1, 8.0, 0.88),  # both lower bounds met exactly: kept
        _scored(2, 7.99, 0.9),  # dover just under
        _scored(3, 9.0, 0.995),  # upper bound met exactly: kept
        _scored(4, 9.0, 0.9951),  # just over the upper bound
        _scored(5, None, 0.9),  # no DOVER score (e.g. the open profile)
        _scored(6, 9.5, 0.9, passed=False),  # failed the run's own gates
    ]
    ann = {c["clip_id"]: {"ethnicity": "Asian", "gender": "Male"} for c in clips}
    sel = select_core(clips, {}, ann, params)
    assert sorted(sel.selected) == ["s-scene1", "s-scene3"]
    assert sel.failed_rules == {
        "quality.dover_score>=8": 1,
        "motion.stability_ratio<=0.995": 1,
        "missing:quality.dover_score": 1,
    }
    assert sel.run_passed == 5
    sel = select_core(clips, {}, ann, dataclasses.replace(params, missing="ignore"))
    assert sorted(sel.selected) == ["s-scene1", "s-scene3", "s-scene5"]


def test_groups_from_input_metadata_and_unknowns() -> None:
    clips = [
        clip_record("tv", 1, 0.0, 10.0),
        clip_record("anon", 1, 0.0, 10.0),
        clip_record("ann", 1, 0.0, 10.0),
    ]
    sources: dict[str, dict[str, Any]] = {
        "tv": {
            "metadata": {"Ethnicity": "African", "Gender": "male", "Age Group": "60+"}
        },  # TalkVid's release
        "anon": {"metadata": {}},
        "ann": {"metadata": {"Ethnicity": "White", "Gender": "Female", "Age Group": "19-30"}},
    }
    ann = {"ann-scene1": {"ethnicity": "Asian", "gender": "Male", "age": "46-60"}}  # an annotation wins
    params = CoreParams(hours=1.0, min={}, max={})
    sel = select_core(clips, sources, ann, params)
    assert {s.groups for s in sel.strata if s.got_clips} == {
        ("Black", "Male", "60+"),
        ("Asian", "Male", "46-60"),
    }
    assert sel.excluded_unknown == 1 and sel.groups_from == {"metadata": 1, "annotation": 1}
    sel = select_core(clips, sources, ann, dataclasses.replace(params, unknown="keep"))
    assert ("Unknown", "Unknown", "Unknown") in {s.groups for s in sel.strata if s.got_clips}


def test_parameters_fail_fast_and_the_shipped_file_loads(tmp_path: Path) -> None:
    shipped = load_core_params("core")
    assert shipped.hours == 160 and shipped.strata == ("ethnicity", "gender", "age")
    assert shipped.min["quality.dover_score"] == 8.0 and shipped.max["motion.stability_ratio"] == 0.995
    with pytest.raises(ValueError, match="pick distinct ones of ethnicity, gender, age, language"):
        CoreParams(strata=("height",))
    bad = tmp_path / "bad.toml"
    bad.write_text("[core]\nhourz = 3\n")
    with pytest.raises(ValueError, match="allowed: hours, seed"):
        load_core_params(str(bad))


def test_cli_writes_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clips, ann = _population({("White", "Male"): 30, ("Asian", "Female"): 3})
    run = make_run(tmp_path / "run", {"pop": clips})
    with AnnotationStore(run) as store:
        for cid, groups in ann.items():
            store.append(
                {"clip_id": cid, "key": "k", "status": "ok", "annotation": {**groups, "age": "19-30"}}
            )
    profile = tmp_path / "p.toml"
    profile.write_text('[core]\nstrata = ["ethnicity", "gender"]\n')
    assert (
        main(["--run", str(run), "--hours", str(100 / 3600), "--seed", "3", "--profile", str(profile)]) == 0
    )
    summary = json.loads((run / "core_selection.json").read_text())
    got = {(s["groups"]["ethnicity"], s["groups"]["gender"]): s["got_clips"] for s in summary["strata"]}
    assert got[("White", "Male")] == 7 and got[("Asian", "Female")] == 3  # 30 + 70 s
    assert summary["params"]["seed"] == 3 and len(summary["selected"]) == 10
    md = (run / "core_selection.md").read_text()
    assert "| White | Male | 30 |" in md and "shortfall 0.00 h" in md
    assert "10 clips" in capsys.readouterr().out
