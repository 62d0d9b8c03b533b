"""Measures RTF on a benchmark corpus: decode only, each stage alone, the whole pipeline.

Note [RTF measurement]: RTF = seconds of input video / wall seconds (performance.md, How to measure).
Every measurement first runs once on the corpus's shortest source untimed (warm-up: model loading, Numba
and CUDA compilation, allocator caches), then processes the whole corpus `repeats` times; the figure is
the median of the repeats' total wall seconds, with frames/s and clips/s beside it. On CUDA the clock
is read after synchronising the device.

- decode: pass 1 alone (`VideoDecoder.scan` at the scene detector's size, no consumer work): the decode
  ceiling every later figure is compared to.
- segment: stage 1 (`segment_source`: scan + scene detection + clip spans + speech gate); its detected
  cuts are scored against the corpus's recorded cut points (segmentation accuracy, same run).
- quality / motion / head / export alone: a Worker running stage 1 and that one stage; the figure is the
  stage's own wall time (its pass-2 frame decode + its model) over the seconds of video it consumed, and
  the whole run's RTF is kept beside it (`run_rtf`).
- nomodels: the pipeline with every model off: the same Worker, decode streams, scene buffer, stage 1 and
  the filter stages' own frame requests and views, with a `process` that scores nothing (the filters whose
  profile section is present). Beside `decode` in the same run it shows what the pipeline's machinery costs
  over the decode ceiling (issue 11: within 10 % on the CPU).
- pipeline: a Worker running stage 1 and every filter stage on one decode (the paper's three filters).
- official: the official stage 1 method side by side on the same sources (talkvid_fast/_official_stage1).
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..pipeline import RunConfig, Worker, parse_stages
from ..profile import Profile
from ..stages import FILTER_STAGES, FilterStage, StageResult, load_stage
from ._accuracy import CutAccuracy, combine, match_cuts

MEASUREMENTS = ("decode", "segment", *FILTER_STAGES, "export", "nomodels", "pipeline", "official")
DEFAULT_MEASUREMENTS = ("decode", "segment", *FILTER_STAGES, "pipeline")


@dataclass
class Measurement:
    """One measurement over the corpus; per-source figures are medians over the repeats."""

    name: str
    video_seconds: float = 0.0  #: seconds of video the measured work consumed
    wall_seconds: float = 0.0  #: median over repeats of the total wall seconds
    repeats: list[float] = field(default_factory=list)  #: total wall seconds of each repeat
    #: median over repeats of the CPU seconds (user + system, every thread, and child processes) it used
    cpu_seconds: float = 0.0
    frames: int = 0  #: frames the measured work consumed
    clips: int | None = None  #: clips it handled (None: not a per-clip measurement)
    per_source: dict[str, dict[str, float]] = field(default_factory=dict)
    not_run: str | None = None  #: why it could not run
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rtf(self) -> float | None:
        return (
            self.video_seconds / self.wall_seconds if self.wall_seconds > 0 and self.video_seconds else None
        )

    @property
    def fps(self) -> float | None:
        return self.frames / self.wall_seconds if self.wall_seconds > 0 and self.frames else None

    @property
    def clips_per_s(self) -> float | None:
        return self.clips / self.wall_seconds if self.wall_seconds > 0 and self.clips else None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("rtf", "fps", "clips_per_s"):
            v = getattr(self, k)
            d[k] = round(v, 3) if v is not None else None
        d["wall_seconds"] = round(self.wall_seconds, 4)
        d["repeats"] = [round(r, 4) for r in self.repeats]
        return d


# One source's result: {"video_seconds", "wall_seconds", "frames", "clips"?} plus anything else to keep.
SourceRun = Callable[[dict[str, Any], Path], dict[str, Any]]


@dataclass
class Corpus:
    folder: Path
    manifest: dict[str, Any]

    @property
    def sources(self) -> list[dict[str, Any]]:
        return list(self.manifest["sources"])

    def path(self, src: dict[str, Any]) -> Path:
        return self.folder / src["file"]

    def fields(self, src: dict[str, Any]) -> dict[str, Any]:
        return {"video-id": Path(src["file"]).stem, "video-path": str(self.path(src))}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) and of its finished child processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _repeat(
    name: str, corpus: Corpus, run: SourceRun, repeats: int, device: str, warmup: bool
) -> Measurement:
    sources = corpus.sources
    if warmup:
        shortest = min(sources, key=lambda s: s["duration"])
        run(shortest, corpus.path(shortest))
        _sync(device)
    per_repeat: list[dict[str, dict[str, Any]]] = []
    cpu: list[float] = []
    for _ in range(repeats):
        results = {}
        before = _cpu_seconds()
        for src in sources:
            results[src["file"]] = run(src, corpus.path(src))
            _sync(device)
        cpu.append(_cpu_seconds() - before)
        per_repeat.append(results)
    m = Measurement(name)
    m.repeats = [sum(r[s["file"]]["wall_seconds"] for s in sources) for r in per_repeat]
    m.wall_seconds = statistics.median(m.repeats)
    m.cpu_seconds = round(statistics.median(cpu), 3)
    first = per_repeat[0]  # the work done is the same in every repeat
    m.video_seconds = round(sum(first[s["file"]]["video_seconds"] for s in sources), 4)
    m.frames = int(sum(first[s["file"]]["frames"] for s in sources))
    if all("clips" in first[s["file"]] for s in sources):
        m.clips = int(sum(first[s["file"]]["clips"] for s in sources))
    for src in sources:
        f = src["file"]
        m.per_source[f] = {
            "video_seconds": round(first[f]["video_seconds"], 4),
            "wall_seconds": round(statistics.median(r[f]["wall_seconds"] for r in per_repeat), 4),
            "frames": first[f]["frames"],
        }
    m.extra["first_repeat"] = {
        f: {k: v for k, v in r.items() if k not in m.per_source[f]} for f, r in first.items()
    }
    return m


def _decode_run(device: str) -> SourceRun:
    from ..decode import open_decoder
    from ..segment import small_size

    def run(src: dict[str, Any], path: Path) -> dict[str, Any]:
        t = time.perf_counter()
        decoder = open_decoder(str(path), "auto", device)
        try:
            meta = decoder.metadata
            scan = decoder.scan(small_size(meta.coded_width, meta.coded_height), lambda i, n, img: None)
        finally:
            decoder.close()
        _sync(device)
        return {
            "wall_seconds": time.perf_counter() - t,
            "video_seconds": src["duration"],
            "frames": len(scan.times),
            "decoder": decoder.name,
        }

    return run


def _segment_run(profile: Profile, device: str, tolerance: int) -> SourceRun:
    from ..decode import open_decoder
    from ..segment import SegmentParams, segment_source

    params = SegmentParams.from_profile(profile.section("segment"))

    def run(src: dict[str, Any], path: Path) -> dict[str, Any]:
        t = time.perf_counter()
        decoder = open_decoder(str(path), "auto", device)
        try:
            seg = segment_source(decoder, {"video-id": path.stem, "video-path": str(path)}, params)
        finally:
            decoder.close()
        wall = time.perf_counter() - t
        detected = [a for a, _ in seg.scenes[1:]]
        acc = match_cuts([c["frame"] for c in src["cuts"]], detected, tolerance)
        return {
            "wall_seconds": wall,
            "video_seconds": src["duration"],
            "frames": len(seg.scan.times),
            "clips": len(seg.verdicts),
            "clips_passed": sum(v.passed for v in seg.verdicts),
            "detected_cuts": detected,
            "accuracy": acc.to_dict(),
        }

    return run


def _worker_run(worker: Worker, corpus: Corpus, measured: list[str]) -> SourceRun:
    """Times Worker.process; `measured` names the stages whose own time is the figure (empty: whole run)."""

    def run(src: dict[str, Any], path: Path) -> dict[str, Any]:
        t = time.perf_counter()
        rec, clips = worker.process(corpus.fields(src))
        wall = time.perf_counter() - t
        if rec["status"] != "ok":
            raise RuntimeError(f"{path.name} failed in the pipeline: {rec['errors']}")
        timings, consumed = rec["timings"], rec["stage_input_seconds"]
        out: dict[str, Any] = {"run_wall_seconds": wall, "timings": timings, "stage_input_seconds": consumed}
        if not measured:
            out.update(wall_seconds=wall, video_seconds=src["duration"], frames=rec["probe"]["frames"])
            out["clips"] = len(clips)
            out["clips_passed"] = sum(bool(c["passed"]) for c in clips)
            return out
        stage = measured[0]
        ran = [c for c in clips if stage in c["stages"] and c["stages"][stage].get("status") != "not_run"]
        own = timings.get(stage, 0.0) + (timings.get("decode_views", 0.0) if stage in FILTER_STAGES else 0.0)
        out.update(
            wall_seconds=own, video_seconds=consumed.get(stage, 0.0), frames=sum(c["frames"] for c in ran)
        )
        out["clips"] = len(ran)
        out["clips_passed"] = sum(bool(c["gates"].get(stage)) for c in ran)
        return out

    return run


class _ViewsOnly:
    """A filter stage with its model off: its own frame requests (so the views are made), no scoring."""

    def __init__(self, stage: Any) -> None:
        self.stage, self.name = stage, stage.name
        self.whole_source = getattr(stage, "whole_source", True)

    def setup(self) -> None:  # loads no weights
        pass

    def requests(self, clip: Any) -> Any:
        return self.stage.requests(clip)

    def process(self, batch: list[tuple[Any, dict[str, Any]]]) -> list[StageResult]:
        return [StageResult(passed=True, backend="views-only") for _ in batch]


def _nomodels_worker(profile: Profile, output: Path, device: str) -> Worker:
    """A Worker whose filter stages make their views and score nothing (the `nomodels` measurement)."""
    worker = Worker(RunConfig(profile=profile, output=output, stages=["segment"], device=device))
    # the stages this profile runs: configured, and not switched off (`open` runs no DOVER: no DOVER views)
    off = {"quality"} if profile.section("quality").get("weights") == "none" else set()
    names = [n for n in FILTER_STAGES if profile.section(n) and n not in off]
    worker.stages = {
        n: cast(FilterStage, _ViewsOnly(load_stage(n, profile.section(n), device))) for n in names
    }
    return worker


def _official_run() -> SourceRun:
    from .._official_stage1 import official_stage1

    def run(src: dict[str, Any], path: Path) -> dict[str, Any]:
        t = time.perf_counter()
        error = None
        try:
            official_stage1(str(path))
        except Exception as exc:  # the official code crashes on some scenes; time what it ran (as bench.py)
            error = f"{type(exc).__name__}: {exc}"
        return {
            "wall_seconds": time.perf_counter() - t,
            "video_seconds": src["duration"],
            "frames": src["frames"],
            "error": error,
        }

    return run


def measure(
    corpus: Corpus,
    profile: Profile,
    measurements: list[str],
    repeats: int = 3,
    device: str = "cpu",
    tolerance: int = 2,
    warmup: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, Measurement], CutAccuracy | None]:
    """Runs the named measurements (MEASUREMENTS) in order; returns them and the segmentation accuracy."""
    unknown = [m for m in measurements if m not in MEASUREMENTS]
    if unknown:
        raise ValueError(f"unknown measurements {unknown}; allowed: {', '.join(MEASUREMENTS)}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    results: dict[str, Measurement] = {}
    accuracy = None
    with tempfile.TemporaryDirectory() as tmp:
        for name in measurements:
            log(f"measuring {name} ({repeats} repeats{', after a warm-up' if warmup else ''}) ...")
            if name == "decode":
                m = _repeat(name, corpus, _decode_run(device), repeats, device, warmup)
            elif name == "segment":
                m = _repeat(name, corpus, _segment_run(profile, device, tolerance), repeats, device, warmup)
                per = [CutAccuracy(**_acc_fields(r["accuracy"])) for r in m.extra["first_repeat"].values()]
                accuracy = combine(per)
            elif name == "official":  # slow (x264-encodes every scene): one pass, no warm-up
                m = _repeat(name, corpus, _official_run(), 1, device, False)
                errors = {f: r["error"] for f, r in m.extra["first_repeat"].items() if r.get("error")}
                if errors:  # it stopped part-way through these sources: its time is not comparable
                    m.extra["errors"] = errors
                    log(f"  official stage 1 failed on {len(errors)} sources: {next(iter(errors.values()))}")
            elif name == "nomodels":
                worker = _nomodels_worker(profile, Path(tmp) / name, device)
                m = _repeat(name, corpus, _worker_run(worker, corpus, []), repeats, device, warmup)
                m.extra["stages"] = ["segment", *worker.stages]
                m.extra["not_run"] = {}
            else:
                stages = list(FILTER_STAGES) if name == "pipeline" else [name]
                config = RunConfig(
                    profile=profile,
                    output=Path(tmp) / name,
                    stages=parse_stages(",".join(stages)),
                    device=device,
                )
                worker = Worker(config)
                if name != "pipeline" and name in worker.unavailable:
                    results[name] = Measurement(name, not_run=worker.unavailable[name])
                    log(f"  {name} not run: {worker.unavailable[name]}")
                    continue
                run = _worker_run(worker, corpus, [] if name == "pipeline" else [name])
                m = _repeat(name, corpus, run, repeats, device, warmup)
                m.extra["stages"] = config.stages
                m.extra["not_run"] = dict(worker.unavailable)
                runs = [r["run_wall_seconds"] for r in m.extra["first_repeat"].values()]
                m.extra["run_rtf"] = round(sum(s["duration"] for s in corpus.sources) / sum(runs), 3)
            results[name] = m
            rtf = f"{m.rtf:.2f}" if m.rtf else "-"
            log(f"  {name}: {m.video_seconds:.1f} s of video in {m.wall_seconds:.2f} s: RTF {rtf}")
    return results, accuracy


def _acc_fields(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("truth", "detected", "matched", "tolerance", "mean_abs_offset")}
