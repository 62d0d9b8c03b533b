"""Table 7 rows from hand-made run records and labels: which clip counts where, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkvid_fast.agreement import default_filters, evaluate, load_labels, parse_map, stages_in
from talkvid_fast.agreement.__main__ import main
from talkvid_fast.manifest import read_run

from .records import clip, head, source, stage, write_run

MEDIA = "/data/media"


def _labels(tmp: Path) -> Path:
    def entry(file: str, **values: object) -> dict:
        return {
            "file": file,
            "labels": {k: {"value": v, "reason": f"{k} of {file}"} for k, v in values.items()},
        }

    data = [
        # a: kept by everything; labels agree except camera_stable
        entry(
            "positives/a.mp4",
            stable_head=True,
            camera_stable=False,
            face_large=True,
            speaking=True,
            keep=True,
        ),
        # b: head found no face; labels say the face is small (reject) and keep false
        entry("positives/b.mp4", stable_head="uncertain", face_large=False, speaking=True, keep=False),
        # c: the head stage failed with an error: no head verdict at all
        entry("negatives/c.mp4", face_large=True, keep=False),
        # d: too short for the 5 s rule, labelled keep
        entry("d.mp4", keep=True),
        # e: unreadable; matched by its stem (the source id)
        entry("elsewhere/e.mp4", keep=False),
        # f: silent, speech gate rejects; label speaking false; visual quality fair = neither side
        entry("positives/f.mp4", speaking=False, visual_quality="fair", keep=False),
    ]
    path = tmp / "labels.json"
    path.write_text(json.dumps(data))
    return path


def _run(tmp: Path) -> Path:
    def p(name: str) -> str:
        return f"{MEDIA}/{name}"

    return write_run(
        tmp / "out",
        [
            (
                source("a", p("positives/a.mp4")),
                [clip("a", p("positives/a.mp4"), head=head(), motion=stage({"stability_ratio": True}))],
            ),
            (
                source("b", p("positives/b.mp4")),
                [
                    clip(
                        "b",
                        p("positives/b.mp4"),
                        head=stage({"face_consistency": False}, failed="no_face"),
                        motion=stage({"stability_ratio": True}),
                    )
                ],
            ),
            (
                source("c", p("negatives/c.mp4")),
                [clip("c", p("negatives/c.mp4"), head=stage({}, error="RuntimeError: boom"))],
            ),
            (source("d", p("d.mp4")), [clip("d", p("d.mp4"), duration=4.0)]),
            (source("e", "/other/place/e.mp4", error="unreadable"), []),
            (source("f", p("positives/f.mp4")), [clip("f", p("positives/f.mp4"), speech=False)]),
        ],
    )


def _rows(tmp: Path) -> dict:
    run = read_run(_run(tmp))
    filters, unmapped = default_filters(stages_in(run.clips))
    assert unmapped == []
    return {r.filter: r for r in evaluate(run, load_labels(_labels(tmp)), filters)}


def test_rows_count_what_each_filter_judged(tmp_path: Path) -> None:
    rows = _rows(tmp_path)
    # head.resolution: a kept & labelled large (TP); b rejected by no_face & labelled small (TN);
    # c errored (not judged, counted as an error); d, f never reached the head stage
    r = rows["head.resolution"]
    assert (r.confusion.tp, r.confusion.fp, r.confusion.fn, r.confusion.tn) == (1, 0, 0, 1)
    assert r.errors == 1
    # head.movement: a TP; b's label is uncertain -> neither side
    m = rows["head.movement"]
    assert m.confusion.n == 1 and m.undecided_labels == 1
    # motion: a kept but labelled unstable -> one false positive, listed with its label reason
    mo = rows["motion"]
    assert (mo.confusion.fp, mo.confusion.n) == (1, 1)
    assert [x.unit for x in mo.misses] == ["a-scene1"] and mo.misses[
        0
    ].label_reason == "camera_stable of positives/a.mp4"
    # speech gate: a, b kept & speaking (2 TP), f rejected & silent (TN); c, d have no speaking label
    s = rows["segment.speech"]
    assert (s.confusion.tp, s.confusion.fp, s.confusion.fn, s.confusion.tn) == (2, 0, 0, 1)
    assert s.unlabelled == 0


def test_keep_row_leaves_out_the_5s_rule_and_counts_unreadable_sources(tmp_path: Path) -> None:
    k = _rows(tmp_path)["overall"]
    # a passed & keep (TP); b, c, f rejected & keep false (3 TN); d only failed the 5 s rule (left out,
    # counted as too short); e unreadable: one unit, rejected, keep false (TN), matched by its stem
    assert (k.confusion.tp, k.confusion.fp, k.confusion.fn, k.confusion.tn) == (1, 0, 0, 4)
    assert k.too_short == 1
    assert k.stats.accuracy == 1.0


def test_new_stages_map_by_name_and_by_option() -> None:
    filters, unmapped = default_filters(["speaker", "facecrop_quality", "lipsync_magic", "head"])
    crit = {f.name: f.criterion for f in filters}
    assert crit["speaker"] == "speaking" and crit["facecrop_quality"] == "visual_quality"
    assert unmapped == ["lipsync_magic"]
    (f,) = parse_map(["lipsync_magic.sync+offset=speaking"])
    assert (f.stage, f.gates, f.criterion) == ("lipsync_magic", ("sync", "offset"), "speaking")
    with pytest.raises(ValueError, match="STAGE"):
        parse_map(["speaking"])


def test_bad_label_value_fails_with_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"file": "a.mp4", "labels": {"keep": {"value": "maybe"}}}]))
    with pytest.raises(ValueError, match="allowed are true, false"):
        load_labels(path)


def test_cli_prints_the_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(tmp_path)
    assert main(["--labels", str(_labels(tmp_path)), "--run", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| head.resolution | face_large | 2 |" in text
    assert "`a-scene1` (positives/a.mp4): kept, labelled reject" in text
    data = json.loads((out / "agreement.json").read_text())
    overall = next(r for r in data["rows"] if r["filter"] == "overall")
    assert overall["confusion"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 4}
    assert main(["--labels", str(tmp_path / "missing.json"), "--run", str(out)]) == 2


def test_labels_that_contradict_keep_bound_the_row(tmp_path: Path) -> None:
    """Clip a is labelled keep but camera-unstable: the motion row lists it as a conflict, and its ceiling (a
    filter right on everything else that passes a) is that one false keep: TP 0, FP 1, FN 0, TN 0. No other
    clip labelled keep is rejected by its labels, so the head rows have no conflict and a ceiling equal to a
    perfect filter's: head.resolution judged a (large) and b (small) -> 1/0/0/1, F1 1.0."""
    rows = _rows(tmp_path)
    mo = rows["motion"]
    assert mo.conflicts == ["a-scene1"]
    assert (mo.ceiling.tp, mo.ceiling.fp, mo.ceiling.fn, mo.ceiling.tn) == (0, 1, 0, 0)
    res = rows["head.resolution"]
    assert res.conflicts == [] and (res.ceiling.tp, res.ceiling.fp, res.ceiling.fn, res.ceiling.tn) == (
        1,
        0,
        0,
        1,
    )
    assert res.ceiling_stats.f1 == 1.0
    assert rows["overall"].conflicts == []
    from talkvid_fast.agreement import render_markdown

    text = render_markdown(list(rows.values()), "t")
    assert "### Labels that contradict `keep`" in text and "| motion | camera_stable | 1 |" in text


def test_ceiling_counts_every_clip_the_filter_judged(tmp_path: Path) -> None:
    """x: keep, camera unstable, motion passes (a conflict); y: reject, unstable, motion passes (a plain false
    keep); z: keep, stable, motion fails (a false reject). Ceiling by hand: z's positive is a TP, x the one
    forced FP, y a TN: 1/1/0/1, F1 = 2 / (2 + 1)."""
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {"file": f"{n}.mp4", "labels": {"camera_stable": {"value": cs}, "keep": {"value": k}}}
                for n, cs, k in (("x", False, True), ("y", False, False), ("z", True, True))
            ]
        )
    )
    run = write_run(
        tmp_path / "out",
        [
            (
                source(n, f"{MEDIA}/{n}.mp4"),
                [clip(n, f"{MEDIA}/{n}.mp4", motion=stage({"stability_ratio": ok}))],
            )
            for n, ok in (("x", True), ("y", True), ("z", False))
        ],
    )
    rows = {r.filter: r for r in evaluate(read_run(run), load_labels(labels), default_filters(["motion"])[0])}
    mo = rows["motion"]
    assert (mo.confusion.tp, mo.confusion.fp, mo.confusion.fn, mo.confusion.tn) == (0, 2, 1, 0)
    assert mo.conflicts == ["x-scene1"]
    assert (mo.ceiling.tp, mo.ceiling.fp, mo.ceiling.fn, mo.ceiling.tn) == (1, 1, 0, 1)
    assert mo.ceiling_stats.f1 == pytest.approx(2 / 3)


def test_rejections_name_the_criteria_on_both_sides(tmp_path: Path) -> None:
    """The clips labelled keep: false that the run judged: b (head found no face: every head criterion fails;
    its labels fail face_large -> a match), c (its head stage errored: no filter rejected it, yet it did not
    pass -> no match) and f (speech gate; labelled not speaking -> a match). d (5 s rule) and e (no clip) are
    not listed."""
    from talkvid_fast.agreement._reasons import rejections, render_rejections

    run = read_run(_run(tmp_path))
    filters, _ = default_filters(stages_in(run.clips))
    got = {r.unit: r for r in rejections(run, load_labels(_labels(tmp_path)), filters)}
    assert sorted(got) == ["b-scene1", "c-scene1", "f-scene1"]
    head_criteria = ("stable_head", "still_rotation", "frontal", "face_complete", "face_large", "single_face")
    assert got["b-scene1"].rejected_on == head_criteria and got["b-scene1"].labelled_false == ("face_large",)
    assert got["b-scene1"].matches
    assert got["c-scene1"].rejected_on == () and not got["c-scene1"].kept and not got["c-scene1"].matches
    assert got["f-scene1"].rejected_on == ("speaking",) and got["f-scene1"].matches
    assert "3 judged clips are labelled `keep: false`: 2 rejected on a criterion" in render_rejections(
        list(got.values())
    )


def test_face_crop_quality_row_exists_only_where_the_run_has_its_gates(tmp_path: Path) -> None:
    """A run whose head records carry crop_* gates gets a head.crop_quality row scored against visual_quality
    (blurry q: crop_sharpness fails, labelled poor -> TN; sharp s: passes, labelled good -> TP; n: no face ->
    rejected on it, labelled poor -> TN); the fixture's run (no crop gates, as `paper`) gets none."""
    from talkvid_fast.agreement import recorded_gates

    from .records import HEAD_GATES

    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {"file": f"{n}.mp4", "labels": {"visual_quality": {"value": v}}}
                for n, v in (("q", "poor"), ("s", "good"), ("n", "poor"))
            ]
        )
    )
    crop = {"crop_sharpness": True, "crop_exposure": True}
    results = {
        "q": stage({**dict.fromkeys(HEAD_GATES, True), **crop, "crop_sharpness": False}),
        "s": stage({**dict.fromkeys(HEAD_GATES, True), **crop}),
        "n": stage({"face_consistency": False}, failed="no_face"),
    }
    out = write_run(
        tmp_path / "out",
        [(source(n, f"{MEDIA}/{n}.mp4"), [clip(n, f"{MEDIA}/{n}.mp4", head=r)]) for n, r in results.items()],
    )
    run = read_run(out)
    filters, _ = default_filters(stages_in(run.clips), recorded_gates(run.clips))
    row = {r.filter: r for r in evaluate(run, load_labels(labels), filters)}["head.crop_quality"]
    assert row.criterion == "visual_quality"
    assert (row.confusion.tp, row.confusion.fp, row.confusion.fn, row.confusion.tn) == (1, 0, 0, 2)
    plain = read_run(_run(tmp_path / "plain"))
    names = [f.name for f in default_filters(stages_in(plain.clips), recorded_gates(plain.clips))[0]]
    assert "head.crop_quality" not in names and "head.resolution" in names


def test_frozen_video_is_not_a_camera_verdict(tmp_path: Path) -> None:
    """A still slide: the camera is steady (stability_ratio and camera_speed pass) but nothing moves, so the
    frozen-video gate `motion` fails it. Labelled camera-stable and not kept: the motion row counts a TP
    (its camera gates passed), `overall` a TN. A clip failing stability_ratio stays a reject on the row."""
    from talkvid_fast.agreement import recorded_gates

    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {"file": f"{n}.mp4", "labels": {"camera_stable": {"value": cs}, "keep": {"value": False}}}
                for n, cs in (("still", True), ("shaky", False))
            ]
        )
    )
    results = {
        "still": stage({"stability_ratio": True, "camera_speed": True, "motion": False}),
        "shaky": stage({"stability_ratio": False, "camera_speed": True, "motion": True}),
    }
    out = write_run(
        tmp_path / "out",
        [
            (source(n, f"{MEDIA}/{n}.mp4"), [clip(n, f"{MEDIA}/{n}.mp4", motion=r)])
            for n, r in results.items()
        ],
    )
    run = read_run(out)
    filters, _ = default_filters(stages_in(run.clips), recorded_gates(run.clips))
    rows = {r.filter: r for r in evaluate(run, load_labels(labels), filters)}
    mo, keep = rows["motion"], rows["overall"]
    assert (mo.confusion.tp, mo.confusion.fp, mo.confusion.fn, mo.confusion.tn) == (1, 0, 0, 1)
    assert (keep.confusion.tp, keep.confusion.tn) == (0, 2)


def test_file_units_score_each_source_once(tmp_path: Path) -> None:
    """Source m, labelled camera-stable and keep, cut into three clips whose motion verdicts are pass, fail,
    pass. Per clip: motion 2 TP + 1 FN, keep 2 TP + 1 FN. Per file (Note [File units]): motion judges the file
    by every clip -> one FN; keep by any clip -> one TP. An unknown unit is refused with the allowed ones."""
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps([{"file": "m.mp4", "labels": {"camera_stable": {"value": True}, "keep": {"value": True}}}])
    )
    out = write_run(
        tmp_path / "out",
        [
            (
                source("m", f"{MEDIA}/m.mp4"),
                [
                    clip("m", f"{MEDIA}/m.mp4", n=k, motion=stage({"stability_ratio": ok}))
                    for k, ok in ((1, True), (2, False), (3, True))
                ],
            )
        ],
    )
    run, entries = read_run(out), load_labels(labels)
    filters = default_filters(["motion"])[0]

    def counts(unit: str) -> dict[str, tuple[int, int, int, int]]:
        rows = evaluate(run, entries, filters, unit)
        return {r.filter: (r.confusion.tp, r.confusion.fp, r.confusion.fn, r.confusion.tn) for r in rows}

    assert counts("clip")["motion"] == (2, 0, 1, 0) and counts("clip")["overall"] == (2, 0, 1, 0)
    assert counts("file")["motion"] == (0, 0, 1, 0) and counts("file")["overall"] == (1, 0, 0, 0)
    with pytest.raises(ValueError, match="allowed: clip, file"):
        evaluate(run, entries, filters, "scene")
