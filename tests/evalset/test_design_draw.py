"""Bench design, attribute lookup, the stratified draw, the stable span and the held-out marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.evalset import clip_attributes, draw, load_design
from talkvid_fast.evalset._span import stable_span
from talkvid_fast.export import TALKVID_JSON, hold_out, write_talkvid_json
from talkvid_fast.manifest import RunFolder


def test_paper_design_is_appendix_c4() -> None:
    d = load_design()
    per_dim = {x.name: sum(g.count for g in x.groups) for x in d.dimensions}
    assert per_dim == {"age": 105, "gender": 100, "ethnicity": 100, "language": 195}  # spec, TalkVid-Bench
    assert d.total == 500 and d.clip_seconds == 5.0
    groups = {x.name: [g.name for g in x.groups] for x in d.dimensions}
    assert groups["age"] == ["0-19", "19-30", "31-45", "46-60", "60+"]
    assert groups["ethnicity"] == ["Black", "White", "Asian"]
    assert len(groups["language"]) == 15 and "other" in groups["language"]


def test_group_lookup() -> None:
    dims = {x.name: x for x in load_design().dimensions}
    age, lang, gender = dims["age"], dims["language"], dims["gender"]
    assert [age.group_of(a) for a in (0, 18.9, 19, 30, 31, 60, 61, 85)] == [
        "0-19", "0-19", "19-30", "19-30", "31-45", "46-60", "60+", "60+",
    ]  # fmt: skip
    assert age.group_of("19-30") == "19-30" and age.group_of("unknown") is None and age.group_of(None) is None
    assert lang.group_of("EN") == "English" and lang.group_of("Swahili") == "other"
    assert gender.group_of("F") == "female" and gender.group_of("nonbinary") is None


def test_attributes_prefer_the_annotation() -> None:
    clip = {"annotation": {"gender": "male", "age": 40}}
    source = {"metadata": {"gender": "female", "language": "German", "speaker_id": "x"}}
    assert clip_attributes(clip, source) == {"gender": "male", "age": 40, "language": "German"}


def _run(n: int) -> RunFolder:
    sources, clips = [], []
    for i in range(n):
        sid = f"s{i:02d}"
        meta = {"gender": "female" if i % 3 else "male", "language": ["English", "German", "Thai"][i % 3]}
        sources.append({"source_id": sid, "path": f"/x/{sid}.mp4", "metadata": meta})
        clips.append(
            {
                "clip_id": f"{sid}-scene1",
                "source_id": sid,
                "passed": i != 4,  # one failing clip
                "errors": {},
                "start": 0.0,
                "end": 3.0 if i == 5 else 8.0,  # one clip too short for 5 s
                "duration": 3.0 if i == 5 else 8.0,
            }
        )
    return RunFolder(Path("/nonexistent"), {}, sources, clips)


def test_draw_is_stratified_reproducible_and_reports_short_strata(tmp_path: Path) -> None:
    design_file = tmp_path / "d.json"
    design_file.write_text(
        json.dumps(
            {
                "dimension": [
                    {
                        "name": "gender",
                        "group": [{"name": "male", "count": 2}, {"name": "female", "count": 3}],
                    },
                    {
                        "name": "language",
                        "group": [{"name": "Thai", "count": 5}, {"name": "other", "count": 1, "other": True}],
                    },
                ]
            }
        )
    )
    design = load_design(design_file)
    run = _run(12)
    a, b, c = draw(run, design, 0, 5.0), draw(run, design, 0, 5.0), draw(run, design, 1, 5.0)
    ids = [x.clip["clip_id"] for x in a.drawn]
    assert ids == [x.clip["clip_id"] for x in b.drawn]  # same seed, same set
    assert ids != [x.clip["clip_id"] for x in c.drawn]  # another seed, another set
    assert len(ids) == len(set(ids))  # a clip serves one dimension
    assert "s04-scene1" not in ids and "s05-scene1" not in ids  # failing, too short
    got = {(x.dimension, x.group): 0 for x in a.drawn}
    for x in a.drawn:
        got[(x.dimension, x.group)] += 1
        assert (
            design.dimensions[0 if x.dimension == "gender" else 1].group_of(x.attributes[x.dimension])
            == x.group
        )
    assert got[("gender", "male")] == 2 and got[("gender", "female")] == 3
    # Thai: sources 2, 5, 8, 11; 5 is too short: at most 3, fewer if gender took some
    thai = [u for u in a.unfilled if u.group == "Thai"]
    assert len(thai) == 1 and thai[0].wanted == 5 and thai[0].got == got.get(("language", "Thai"), 0) < 5


def _head_clip(counts: list[int], **ids: int) -> dict[str, Any]:
    scores: dict[str, Any] = {"face_counts": counts, **ids}
    return {"clip_id": "c", "start": 0.0, "end": float(len(counts)), "stages": {"head": {"scores": scores}}}


def test_stable_span_avoids_bad_samples() -> None:
    head = {"sampling": "exact", "sample_fps": 1.0}
    counts = [1, 1, 1, 0, 1, 1, 1, 1]  # samples at t = 0..7, no face at t = 3
    s = stable_span(_head_clip(counts), 3.0, head)
    assert (s.start, s.method, s.penalty) == (4.0, "head_stable", 0)  # centre 2.5 would hold t = 3
    # worst movement pair = single-face samples 3 and 4 = t 4 and 5: now [0, 3) is the clean span
    s = stable_span(_head_clip(counts, min_movement_id=3), 3.0, head)
    assert (s.start, s.penalty) == (0.0, 0)
    centre = stable_span({"clip_id": "c", "start": 1.0, "end": 9.0, "stages": {}}, 5.0, head)
    assert (centre.start, centre.method) == (2.5, "centre") and "no head scores" in centre.note
    with pytest.raises(ValueError, match="lasts"):
        stable_span(_head_clip(counts), 9.0, head)


def test_held_out_clips_leave_talkvid_json(tmp_path: Path) -> None:
    sources = [{"source_id": "s", "path": "/x/s.mp4", "metadata": {}}]
    clips = [
        {
            "clip_id": f"s-scene{i}",
            "source_id": "s",
            "start": 0.0,
            "end": 6.0,
            "duration": 6.0,
            "fps": 25.0,
            "width": 64,
            "height": 64,
            "export": {
                "mode": "media",
                "video_path": f"clips/s-scene{i}.mp4",
                "audio_path": None,
                "subtitle_path": None,
                "first_frame_path": "x.png",
            },
        }
        for i in (1, 2, 3)
    ]
    run = RunFolder(tmp_path, {}, sources, clips)
    write_talkvid_json(run, tmp_path)
    assert len(json.loads((tmp_path / TALKVID_JSON).read_text())) == 3
    hold_out(run, ["s-scene2"], "benchA")
    assert [r["id"] for r in json.loads((tmp_path / TALKVID_JSON).read_text())] == ["s-scene1", "s-scene3"]
    hold_out(run, ["s-scene3"], "benchA")  # rebuilding benchA replaces its marks
    assert [r["id"] for r in json.loads((tmp_path / TALKVID_JSON).read_text())] == ["s-scene1", "s-scene2"]
    write_talkvid_json(run, tmp_path)  # what the end of a (resumed) run writes keeps them out too
    assert len(json.loads((tmp_path / TALKVID_JSON).read_text())) == 2


def test_cli_explains_bad_runs_and_designs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from talkvid_fast.evalset.__main__ import main

    assert main(["build", "--run", str(tmp_path)]) == 2
    assert "holds no journal.jsonl" in capsys.readouterr().err
    (tmp_path / "journal.jsonl").write_text("")
    bad = tmp_path / "d.toml"
    bad.write_text('[[dimension]]\nname = "age"\ngroup = [{ name = "0-19", count = 1, colour = "red" }]\n')
    assert main(["build", "--run", str(tmp_path), "--design", str(bad)]) == 2
    assert "allowed keys: name, count, values, min, max, other" in capsys.readouterr().err
