"""Every frame of a source is decoded once, media export included (Note [Decode passes], Note [Scene buffer],
Note [Export from the scan]).

The stages are the real quality, motion and head stages for their frame requests (DOVER's seeded 96 + 32
frames, the paper motion windows, the head samples; `official` sampling too), with a `process` that only
fingerprints the views it is handed, so no model runs. Frames are counted where the decoders produce them:
every frame FFmpeg decodes for PyAV (a counting proxy around the container), every frame the stand-in
PyNvVideoCodec decoder returns. The truth is an independent count: FFmpeg decoding the file on its own.
The frames export hands to x264 are compared with FFmpeg's own decode of the clip's frames.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import av
import pytest

from talkvid_fast.decode import PyAVDecoder, gather_views
from talkvid_fast.decode import _pyav as pyav_module
from talkvid_fast.export import ExportParams
from talkvid_fast.export import _cut as cut_module
from talkvid_fast.pipeline import RunConfig, Worker
from talkvid_fast.pipeline import _worker as worker_module
from talkvid_fast.profile import load_profile
from talkvid_fast.stages import FILTER_STAGES, StageResult, load_stage
from tests.decode.test_nvdec_path import _fake_pynvvideocodec

SOURCE = "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4"  # 160 frames, VFR; scenes of 60, 80, 20 frames


def _profile(name: str) -> Any:
    """`name` with clips from 2 s and no speech gate, so both long scenes of SOURCE reach the filters."""
    p = load_profile(name)
    sections = {k: dict(v) for k, v in p.sections.items()}
    sections["segment"].update(speech_gate="keep", min_duration=2.0)
    return dataclasses.replace(p, sections=sections)


def _digest(views: dict[str, Any]) -> dict[str, str]:
    return {k: hashlib.sha1(v.contiguous().numpy().tobytes()).hexdigest() for k, v in views.items()}


class _Fingerprint:
    """A real stage's requests; `process` records a hash of every view instead of running a model."""

    def __init__(self, stage: Any, seen: dict[tuple[str, str], dict[str, str]]) -> None:
        self.stage, self.seen, self.name = stage, seen, stage.name
        self.whole_source = getattr(stage, "whole_source", True)

    def setup(self) -> None:
        pass

    def requests(self, clip: Any) -> Any:
        return self.stage.requests(clip)

    def process(self, batch: list[tuple[Any, dict[str, Any]]]) -> list[StageResult]:
        for clip, views in batch:
            self.seen[(clip.clip_id, self.name)] = _digest(views)
        return [StageResult(passed=True, backend="fingerprint") for _ in batch]


@pytest.fixture
def fingerprints(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    monkeypatch.setattr(
        worker_module,
        "load_stage",
        lambda name, params, device: _Fingerprint(load_stage(name, params, device), seen),
    )
    return seen


@pytest.fixture
def pyav_count(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Frames FFmpeg decodes through PyAV, per file: every container PyAVDecoder opens is wrapped."""
    counts: Counter[str] = Counter()
    real_open = pyav_module._open

    class Counting:
        def __init__(self, path: str) -> None:
            self._c, self._path = real_open(path), path

        def __getattr__(self, name: str) -> Any:
            return getattr(self._c, name)

        def decode(self, *args: Any, **kwargs: Any) -> Any:
            for frame in self._c.decode(*args, **kwargs):
                counts[self._path] += 1
                yield frame

    monkeypatch.setattr(pyav_module, "_open", Counting)
    return counts


def _frames_in(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """sha1 of every frame the export hands to x264, per clip, in order."""
    seen: dict[str, list[str]] = {}
    real = cut_module._x264_writer

    def writer(clip: Any, size: Any, path: Any, png: Any, params: Any) -> Any:
        write, close = real(clip, size, path, png, params)
        frames = seen.setdefault(clip.clip_id, [])

        def counted(rgb: Any, n: int) -> None:
            assert n == len(frames)
            frames.append(hashlib.sha1(rgb.tobytes()).hexdigest())
            write(rgb, n)

        return counted, close

    monkeypatch.setattr(cut_module, "_x264_writer", writer)
    return seen


def _truth(path: Path, clips: list[dict[str, Any]]) -> dict[str, list[str]]:
    """sha1 of the exported clips' frames as FFmpeg decodes the file on its own (presentation order)."""
    spans = {c["clip_id"]: (c["start_frame"], c["end_frame"]) for c in clips if c.get("export")}
    out: dict[str, list[str]] = {k: [] for k in spans}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            for k, (a, b) in spans.items():
                if a <= i < b:
                    out[k].append(hashlib.sha1(frame.to_ndarray(format="rgb24").tobytes()).hexdigest())
    return out


def _run(
    path: Path, profile: str, out: Path, export: bool = False, **config: Any
) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    stages = ["segment", *FILTER_STAGES, *(["export"] if export else [])]
    fast = ExportParams(preset="ultrafast")  # the frames handed to x264 are checked, not its encoding
    cfg = RunConfig(profile=_profile(profile), output=out, stages=stages, export=fast, **config)
    src, clips = Worker(cfg).process({"video-id": "src", "video-path": str(path)})
    return src, clips, cfg


def _reference_views(
    path: Path, cfg: RunConfig, clips: list[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, str]]:
    """The same views by the old route: a fresh decoder, the clip's frames decoded by seeking."""
    from talkvid_fast.segment import segment_source

    dec = PyAVDecoder(str(path))
    seg = segment_source(dec, {"video-id": "src", "video-path": str(path)}, cfg.segment)
    stages = {n: load_stage(n, cfg.profile.section(n), "cpu") for n in FILTER_STAGES}
    wanted = {c["clip_id"] for c in clips if "decode" in c}
    work = [
        (v.clip, n, s.requests(v.clip))
        for v in seg.verdicts
        if v.clip.clip_id in wanted
        for n, s in stages.items()
    ]
    views, _ = gather_views(dec, seg.scan.pts, work)
    return {k: _digest(v) for k, v in views.items()}


@pytest.mark.parametrize("profile", ["paper", "official"])
def test_pyav_decodes_every_frame_once(
    profile: str, testmedia: Path, tmp_path: Path, pyav_count: Counter[str], fingerprints: dict
) -> None:
    path = testmedia / SOURCE
    n = _frames_in(path)
    src, clips, _ = _run(path, profile, tmp_path)
    assert src["status"] == "ok", src["errors"]
    scored = [c for c in clips if "decode" in c]
    assert len(scored) == 2 and all(c["decode"]["views"] == "scene_buffer" for c in scored)
    assert src["decode"]["early_resolution"] is (profile == "paper")  # official reads the source fps
    # Stated exception: probe() decodes the first frame once more to read its display rotation.
    assert pyav_count[str(path)] == n + 1
    assert len(fingerprints) == 2 * len(FILTER_STAGES)  # both clips, every stage, from the one decode


def test_nvdec_decodes_every_frame_once(
    testmedia: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fingerprints: dict
) -> None:
    path = testmedia / SOURCE
    fake = _fake_pynvvideocodec()
    decoded: Counter[str] = Counter()
    make_decoder = fake.CreateDecoder

    def counting_decoder(**kw: Any) -> Any:
        dec = make_decoder(**kw)
        real = dec.Decode

        def decode(packet: Any) -> Any:
            frames = real(packet)
            decoded["frames"] += len(frames)
            return frames

        dec.Decode = decode
        return dec

    fake.CreateDecoder = counting_decoder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", fake)
    src, clips, _ = _run(path, "paper", tmp_path, export=True, decoder="nvdec")
    assert src["status"] == "ok" and src["decoder"] == "nvdec-cpu", src["errors"]
    assert len(fingerprints) == 2 * len(FILTER_STAGES)  # both clips, every stage, from the one decode
    exported = [c for c in clips if c.get("export")]
    assert len(exported) == 2 and all(c["export"]["frames_from"] == "scene_buffer" for c in exported)
    assert decoded["frames"] == _frames_in(path)  # the export decoded nothing more


def test_export_takes_its_frames_from_the_one_decode(
    testmedia: Path, tmp_path: Path, pyav_count: Counter[str], fingerprints: dict, written: dict
) -> None:
    path = testmedia / SOURCE
    n = _frames_in(path)
    src, clips, _ = _run(path, "paper", tmp_path, export=True)
    assert src["status"] == "ok", src["errors"]
    exported = [c for c in clips if c.get("export")]
    assert [c["clip_id"] for c in exported] == ["src-scene1", "src-scene2"]
    assert all(c["export"]["frames_from"] == "scene_buffer" for c in exported)
    assert all(c["export"]["frames"] == c["frames"] for c in exported)
    # Stated exception as above (the probe's first frame); the export decoded nothing more.
    assert pyav_count[str(path)] == n + 1
    assert written == _truth(path, clips)  # x264 got exactly FFmpeg's frames of each clip, in order


def test_export_of_evicted_frames_is_redecoded_and_recorded(
    testmedia: Path, tmp_path: Path, pyav_count: Counter[str], fingerprints: dict, written: dict
) -> None:
    """100 frames of budget: scene 1's clip (53 frames) waits for its export while scene 2 (80) is scanned,
    so the stream evicts scene 1's oldest frames: scene 1 is exported from a second decode, scene 2 from the
    buffer, and the stream never holds more than its budget."""
    path = testmedia / SOURCE
    n = _frames_in(path)
    src, clips, _ = _run(path, "paper", tmp_path, export=True, scene_buffer_mb=100)
    buf = src["decode"]["scene_buffer"]
    assert buf["evicted_frames"] > 0 and buf["stream_peak_bytes"] <= buf["budget_bytes"] == 100 << 20
    by_id = {c["clip_id"]: c for c in clips}
    assert by_id["src-scene1"]["export"]["frames_from"] == "redecoded"
    assert by_id["src-scene1"]["export"]["reason"] == "scene_buffer_full"
    assert by_id["src-scene2"]["export"]["frames_from"] == "scene_buffer"
    assert all(by_id[c]["decode"]["views"] == "scene_buffer" for c in ("src-scene1", "src-scene2"))
    # the exception costs scene 1's frames (from the start: its keyframe) and the re-opened decoder's probe
    assert n + 1 < pyav_count[str(path)] <= n + 1 + by_id["src-scene1"]["end_frame"] + 1
    assert written == _truth(path, clips)


def test_scene_over_the_budget_is_redecoded_and_recorded(
    testmedia: Path, tmp_path: Path, pyav_count: Counter[str], fingerprints: dict
) -> None:
    path = testmedia / SOURCE
    n = _frames_in(path)
    frame = 1280 * 544 * 3 // 2  # bytes of one decoded 4:2:0 frame of SOURCE
    src, clips, cfg = _run(
        path, "paper", tmp_path, scene_buffer_mb=70
    )  # 70 frames: scene 1 (60) fits, 2 (80) not
    buf = src["decode"]["scene_buffer"]
    assert buf["budget_bytes"] == 70 << 20 and buf["largest_frame_bytes"] == frame
    assert buf["peak_bytes"] <= buf["budget_bytes"] and buf["evicted_frames"] > 0
    by_id = {c["clip_id"]: c for c in clips}
    assert by_id["src-scene1"]["decode"]["views"] == "scene_buffer"
    assert by_id["src-scene2"]["decode"] == {
        "views": "redecoded",
        "reason": "scene_buffer_full",
        "scene_buffer_bytes": 70 << 20,
    }
    assert src["decode"]["redecoded_clips"] == 1
    assert all(
        by_id[c]["stages"][s]["backend"] == "fingerprint"
        for c in ("src-scene1", "src-scene2")
        for s in FILTER_STAGES
    )
    # the stated exception: only the evicted clip's frames (from the keyframe before them) are decoded again
    assert n + 1 < pyav_count[str(path)] <= n + 1 + 80
    assert fingerprints == _reference_views(path, cfg, clips)  # buffered and re-decoded views: same pixels


def test_decode_streams_flag_is_validated(tmp_path: Path) -> None:
    from talkvid_fast.pipeline._streams import decode_streams, nvdec_engines
    from tests.pipeline.helpers import run_cli

    assert nvdec_engines("NVIDIA H100 80GB HBM3") == nvdec_engines("NVIDIA H200") == 7
    assert nvdec_engines("NVIDIA A100-SXM4-80GB") == 5 and nvdec_engines("Some future GPU") == 1
    assert decode_streams(0, "cpu") == 1 and decode_streams(3, "cpu") == 3
    out = run_cli("--input", str(tmp_path), "--output", str(tmp_path / "o"), "--decode-streams", "-2")
    assert out.returncode == 2 and "--decode-streams must be 0" in out.stderr
