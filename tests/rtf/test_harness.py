"""The RTF harness: cut matching, medians and RTF arithmetic, target lines, and the output files' schema.

No speed is asserted anywhere (performance.md: targets live in the benchmark report).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.profile import load_profile
from talkvid_fast.rtf.__main__ import apply_overrides, main
from talkvid_fast.rtf._accuracy import combine, match_cuts
from talkvid_fast.rtf._harness import Corpus, Measurement, _repeat, measure
from talkvid_fast.rtf._report import check_targets


def test_match_cuts_counts_hits_misses_and_false_alarms() -> None:
    a = match_cuts([100, 200, 300], [99, 203, 250, 301, 400], tolerance=2)
    assert (a.truth, a.detected, a.matched) == (3, 5, 2)  # 203 is 3 frames off: a miss and a false alarm
    assert a.precision == pytest.approx(2 / 5) and a.recall == pytest.approx(2 / 3)
    assert a.mean_abs_offset == pytest.approx(1.0)
    assert a.f1 == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))
    assert match_cuts([100, 200], [100, 101, 199], tolerance=2).matched == 2  # one-to-one
    none = match_cuts([], [], 2)
    assert none.precision is None and none.recall is None and none.f1 is None
    total = combine([a, match_cuts([10], [10], 2)])
    assert (total.truth, total.detected, total.matched) == (4, 6, 3)
    assert total.mean_abs_offset == pytest.approx((1.0 * 2 + 0.0) / 3, abs=1e-3)


def test_repeat_takes_medians_and_rtf(tmp_path: Path) -> None:
    sources = [{"file": "a.mp4", "duration": 10.0}, {"file": "b.mp4", "duration": 30.0}]
    corpus = Corpus(tmp_path, {"sources": sources})
    walls = iter([9.0, 1.0, 3.0, 2.0, 6.0, 1.0, 2.0])  # warm-up (a), then (a, b) x 3

    def run(src: dict[str, Any], path: Path) -> dict[str, Any]:
        return {"wall_seconds": next(walls), "video_seconds": src["duration"], "frames": 25, "clips": 2}

    m = _repeat("x", corpus, run, 3, "cpu", warmup=True)
    assert m.repeats == [4.0, 8.0, 3.0] and m.wall_seconds == 4.0
    assert m.rtf == pytest.approx(40.0 / 4.0) and m.fps == pytest.approx(50 / 4.0)
    assert m.clips_per_s == pytest.approx(4 / 4.0)
    assert m.per_source["a.mp4"]["wall_seconds"] == 1.0 and m.per_source["b.mp4"]["wall_seconds"] == 3.0
    d = m.to_dict()
    assert d["rtf"] == 10.0 and d["not_run"] is None


def test_targets_are_report_lines() -> None:
    sources = [
        {"file": "a.mp4", "codec": "h264", "height": 1080},
        {"file": "b.mp4", "codec": "hevc", "height": 2160},
    ]

    def meas(name: str, video: float, wall: float) -> Measurement:
        m = Measurement(name, video_seconds=video, wall_seconds=wall)
        m.per_source = {
            "a.mp4": {"video_seconds": video / 2, "wall_seconds": wall / 4},
            "b.mp4": {"video_seconds": video / 2, "wall_seconds": wall * 3 / 4},
        }
        return m

    results = {
        "decode": meas("decode", 100, 1.0),
        "pipeline": meas("pipeline", 100, 1.2),
        "motion": meas("motion", 50, 1.0),
        "quality": Measurement("quality", not_run="weights missing"),
    }
    gpu = {c.target: c for c in check_targets(results, sources, "cuda")}
    assert gpu["end-to-end RTF >= 60 per GPU on 1080p H.264"].passed is True  # 50 / 0.3
    assert gpu["end to end within 1.5x of the decode-only ceiling"].passed is True  # 100 / 83.3
    assert gpu["motion alone RTF >= 100 per GPU"].passed is False
    assert gpu["quality alone RTF >= 300 per GPU"].passed is None
    assert gpu["head alone RTF >= 300 per GPU"].passed is None
    cpu = check_targets(results, sources, "cpu")
    assert cpu[0].passed is False and "weights missing" in cpu[0].measured
    assert cpu[1].passed is None and cpu[1].line().startswith("NOT MEASURED")
    within = "pipeline without models within 10% of decode-only (wall time)"
    assert {c.target: c for c in cpu}[within].passed is None  # not measured in this run
    for wall, ok in ((1.09, True), (1.11, False)):  # decode: 100 s of video in 1.0 s
        results["nomodels"] = meas("nomodels", 100, wall)
        for device in ("cpu", "cuda"):
            check = {c.target: c for c in check_targets(results, sources, device)}[within]
            assert check.passed is ok, (wall, check.line())


def test_nomodels_check_states_the_cpu_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU the check also says what no overlap can beat: every core busy for the no-models work's CPU
    seconds. Decode 1.0 s wall; no models 3.0 CPU-s on 2 cores -> at best 1.5 s wall, +50.0 %."""
    sources = [{"file": "a.mp4", "codec": "h264", "height": 1080}]
    dec = Measurement("decode", video_seconds=10, wall_seconds=1.0, cpu_seconds=1.7)
    nm = Measurement("nomodels", video_seconds=10, wall_seconds=2.0, cpu_seconds=3.0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    within = "pipeline without models within 10% of decode-only (wall time)"
    cpu = {c.target: c for c in check_targets({"decode": dec, "nomodels": nm}, sources, "cpu")}[within]
    assert cpu.passed is False and "no overlap can beat +50.0 % wall" in cpu.measured
    assert "CPU seconds 1.7 decode, 3.0 no models: on 2 cores" in cpu.measured
    gpu = {c.target: c for c in check_targets({"decode": dec, "nomodels": nm}, sources, "cuda")}[within]
    assert "CPU seconds" not in gpu.measured  # the device does the work: no CPU bound


def test_overrides_parse_toml_values() -> None:
    p = apply_overrides(
        load_profile("paper"), ["quality.weights=random", "motion.batch_windows=4", "head.sample_fps=0.5"]
    )
    assert p.section("quality")["weights"] == "random"
    assert p.section("motion")["batch_windows"] == 4 and p.section("head")["sample_fps"] == 0.5
    assert load_profile("paper").section("quality")["weights"] == "DOVER.pth"  # the original is untouched
    with pytest.raises(ValueError, match=r"section\.key=value"):
        apply_overrides(load_profile("paper"), ["nosection=1"])


def test_unknown_measurement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allowed: decode, segment"):
        measure(Corpus(tmp_path, {"sources": []}), load_profile("paper"), ["speed"])


def test_measure_writes_json_and_markdown(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        ["measure", "--corpus", str(tiny_corpus), "--stages", "decode,segment,head,nomodels", "--repeats", "1",
         "--no-warmup", "--out", str(tmp_path), "--name", "rtf_test",
         "--set", 'segment.speech_gate="keep"']  # the corpus's audio is not speech: let clips reach the filters
    )  # fmt: skip
    assert rc == 0
    out = json.loads((tmp_path / "rtf_test.json").read_text())
    assert {
        "environment",
        "corpus",
        "settings",
        "measurements",
        "segmentation_accuracy",
        "paper",
        "targets",
    } <= set(out)
    assert out["environment"]["torch"] and out["corpus"]["size"] == "tiny"
    corpus = json.loads((tiny_corpus / "corpus.json").read_text())
    video = sum(s["duration"] for s in corpus["sources"])
    assert out["corpus"]["video_seconds"] == pytest.approx(video)
    dec = out["measurements"]["decode"]
    assert dec["video_seconds"] == pytest.approx(video)
    assert dec["frames"] == sum(s["frames"] for s in corpus["sources"])
    assert dec["rtf"] == pytest.approx(dec["video_seconds"] / dec["wall_seconds"], rel=1e-3)
    seg = out["measurements"]["segment"]
    acc = out["segmentation_accuracy"]
    assert acc["truth"] == sum(len(s["cuts"]) for s in corpus["sources"])
    assert acc["detected"] == sum(len(r["detected_cuts"]) for r in seg["extra"]["first_repeat"].values())
    assert 0 <= acc["matched"] <= min(acc["truth"], acc["detected"])
    head = out["measurements"]["head"]
    if head["not_run"] is None:  # facemesh weights come from PyPI; without them the stage says why
        # alone (no cascade), the stage sees exactly the clips stage 1 passed
        assert head["clips"] == sum(r["clips_passed"] for r in seg["extra"]["first_repeat"].values())
        assert 0 <= head["video_seconds"] <= video
        assert head["extra"]["stages"] == ["segment", "head"]
    # the pipeline without models: every frame, every clip of stage 1, the paper filters' views, no model
    nm = out["measurements"]["nomodels"]
    assert nm["frames"] == dec["frames"] and nm["video_seconds"] == pytest.approx(video)
    assert dec["cpu_seconds"] > 0 and nm["cpu_seconds"] > 0  # decoding and converting take CPU time
    assert nm["clips"] == sum(r["clips"] for r in seg["extra"]["first_repeat"].values())
    assert nm["extra"]["stages"] == ["segment", "quality", "motion", "head"] and nm["extra"]["not_run"] == {}
    viewed = [r["stage_input_seconds"]["decode_views"] for r in nm["extra"]["first_repeat"].values()]
    passed = [r["clips_passed"] for r in seg["extra"]["first_repeat"].values()]
    assert all((v > 0) == (p > 0) for v, p in zip(viewed, passed, strict=True)) and any(passed)
    md = (tmp_path / "rtf_test.md").read_text()
    assert "| decode only" in md and "18.14" in md and "Segmentation accuracy" in md
    assert "| pipeline without models" in md
    assert "every stage runs on the CPU" in capsys.readouterr().out


def test_folder_command_times_each_stage_from_the_sources(tmp_path: Path) -> None:
    """`rtf folder` (was `python -m talkvid_fast.bench`, untested): one pass of stage 1 over a folder; the
    video seconds are the sources' durations (2 videos: 4 s + 6 s at 10 fps), RTF = video s / wall s."""
    from tests.media import scene_frames, write_video

    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.mp4", scene_frames([40], size=(48, 64), seed=1), fps=10)
    write_video(folder / "b.mp4", scene_frames([30, 30], size=(48, 64), seed=2), fps=10)
    out = tmp_path / "out"
    argv = ["folder", "--corpus", str(folder), "--no-official", "--out", str(out), "--name", "f"]
    assert main(argv) == 0
    result = json.loads((out / "f.json").read_text())
    assert result["sources"] == 2 and result["video_seconds"] == pytest.approx(10.0, abs=0.05)
    assert {"device", "git", "torch"} <= set(result["environment"])
    seg = result["stages"]["segment"]
    assert seg["video_seconds"] == pytest.approx(10.0, abs=0.05)
    assert seg["rtf"] == pytest.approx(seg["video_seconds"] / seg["seconds"], rel=0.02)
    assert "| segment |" in (out / "f.md").read_text()
    with pytest.raises(SystemExit):
        main(["folder", "--bogus"])


def test_nomodels_worker_makes_the_views_of_the_stages_the_profile_runs(tmp_path: Path) -> None:
    """`open` switches DOVER off ([quality] weights = "none"), so its pipeline without models makes no DOVER
    views; `paper` makes every filter's views (weights missing or not: the measurement is of the views)."""
    from talkvid_fast.rtf._harness import _nomodels_worker

    paper = _nomodels_worker(load_profile("paper"), tmp_path / "p", "cpu")
    assert list(paper.stages) == ["quality", "motion", "head"]
    opened = _nomodels_worker(load_profile("open"), tmp_path / "o", "cpu")
    assert list(opened.stages) == ["motion", "head", "speaker"]
