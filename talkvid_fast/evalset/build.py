"""Builds a TalkVid-Bench set from a run: stratified draw, fixed-length spans, the files a generator needs.

Note [Bench draw]: candidates are the run's passing clips (no stage error) at least `clip_seconds` long,
in clip-id order. Dimensions are drawn in the design's order and each clip serves one dimension only (the
paper's totals, 105 + 100 + 100 + 195, add up to its 500 clips); within a group, the clips whose attribute
falls in it are shuffled by a generator seeded with `seed` and the first `count` taken. A group with too few
clips is filled as far as it goes and reported. The drawn clips are held out of training: their ids go to
the run's `held_out.json` and `talkvid.json` is rewritten without them (`export.write_talkvid_json`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..manifest import RunFolder, read_run, write_atomic
from ..segment import NoAudio, load_audio_16k, write_wav_16k
from . import _media
from ._span import stable_span
from .design import Design, clip_attributes

log = logging.getLogger(__name__)
BENCH_JSON = "bench.json"


@dataclass
class Unfilled:
    dimension: str
    group: str
    wanted: int
    got: int
    eligible: int  #: passing clips long enough whose attribute falls in the group


@dataclass
class Drawn:
    clip: dict[str, Any]
    source: dict[str, Any]
    dimension: str
    group: str
    attributes: dict[str, Any]


@dataclass
class Draw:
    drawn: list[Drawn] = field(default_factory=list)
    unfilled: list[Unfilled] = field(default_factory=list)
    candidates: int = 0
    eligible: dict[tuple[str, str], int] = field(default_factory=dict)


def draw(run: RunFolder, design: Design, seed: int, seconds: float) -> Draw:
    """Note [Bench draw]."""
    sources = {s["source_id"]: s for s in run.sources}
    pool = sorted(
        (
            c
            for c in run.clips
            if c.get("passed") and not c.get("errors") and float(c.get("duration", 0)) >= seconds - 1e-6
        ),
        key=lambda c: str(c["clip_id"]),
    )
    rng = np.random.default_rng(seed)
    used: set[str] = set()
    out = Draw(candidates=len(pool))
    for dim in design.dimensions:
        for g in dim.groups:
            eligible = [
                c
                for c in pool
                if c["clip_id"] not in used
                and dim.group_of(clip_attributes(c, sources.get(c["source_id"], {})).get(dim.attribute))
                == g.name
            ]
            out.eligible[(dim.name, g.name)] = len(eligible)
            order = rng.permutation(len(eligible)) if eligible else np.zeros(0, np.int64)
            taken = [eligible[int(i)] for i in order[: g.count]]
            for c in taken:
                used.add(c["clip_id"])
                src = sources.get(c["source_id"], {})
                out.drawn.append(Drawn(c, src, dim.name, g.name, clip_attributes(c, src)))
            if len(taken) < g.count:
                out.unfilled.append(Unfilled(dim.name, g.name, g.count, len(taken), len(eligible)))
    return out


def _load_backend(device: str) -> Any:
    import torch

    from ..head._facemesh_backend import FaceMeshBackend

    return FaceMeshBackend(torch.device(device), runtime="torch")


def _write_clip(item: Drawn, seconds: float, head: dict[str, Any], out: Path, backend: Any) -> dict[str, Any]:
    clip = item.clip
    span = stable_span(clip, seconds, head)
    frames_n = round(seconds * _media.FPS)
    frames = _media.read_frames_at(str(clip["source_path"]), span.start, frames_n)
    box = _media.face_box(frames, backend)
    if box is None:
        raise ValueError("no face found in the span")
    roi = _media.crop_roi(box)
    crops = _media.crop_frames(frames, roi)
    n_samples = round(seconds * _media.SAMPLE_RATE)
    audio_note = "source audio"
    try:
        audio = load_audio_16k(
            str(item.source.get("audio_path") or clip["source_path"]), span.start, span.end
        )
    except NoAudio as exc:
        raise ValueError(f"no audio: {exc}") from exc
    if len(audio) < n_samples:
        audio_note = f"source audio, {n_samples - len(audio)} samples of zeros appended"
    audio = np.pad(audio, (0, max(0, n_samples - len(audio))))[:n_samples]
    bench_id = str(clip["clip_id"])
    files = {
        "reference": f"reference/{bench_id}.png",
        "audio": f"audio/{bench_id}.wav",
        "video": f"video/{bench_id}.mp4",
    }
    for rel in files.values():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
    _media.write_png(crops[0], out / files["reference"])
    write_wav_16k(out / files["audio"], audio)
    _media.write_mp4(crops, out / files["video"], audio)
    return {
        "id": bench_id,
        "clip_id": clip["clip_id"],
        "source_id": clip["source_id"],
        "source_path": clip["source_path"],
        "dimension": item.dimension,
        "group": item.group,
        "attributes": item.attributes,
        "span": {**asdict(span), "frames": frames_n, "fps": _media.FPS},
        "crop": {"cx": roi.cx, "cy": roi.cy, "side": roi.side, "size": _media.SIZE, "face_box": box.tolist()},
        "audio": {"samples": n_samples, "sample_rate": _media.SAMPLE_RATE, "note": audio_note},
        "files": files,
    }


def build(
    run_dir: Path,
    out: Path,
    design: Design,
    seed: int = 0,
    seconds: float | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Draws, writes every clip's files and `bench.json`, holds the clips out of the run's talkvid.json."""
    from tqdm import tqdm

    from ..export import hold_out

    seconds = design.clip_seconds if seconds is None else float(seconds)
    if seconds <= 0:
        raise ValueError(f"clip length must be > 0 s, got {seconds}")
    run = read_run(run_dir)
    result = draw(run, design, seed, seconds)
    out.mkdir(parents=True, exist_ok=True)
    backend = _load_backend(device) if result.drawn else None
    clips, skipped = [], []
    for item in tqdm(result.drawn, desc="bench clips", disable=not progress):
        try:
            clips.append(_write_clip(item, seconds, run.section("head"), out, backend))
        except (ValueError, OSError) as exc:  # one unusable clip leaves its stratum short, not the build dead
            skipped.append({"clip_id": item.clip["clip_id"], "reason": str(exc)})
            log.warning("bench clip %s skipped: %s", item.clip["clip_id"], exc)
    got: dict[tuple[str, str], int] = {}
    for c in clips:
        got[(c["dimension"], c["group"])] = got.get((c["dimension"], c["group"]), 0) + 1
    unfilled: list[dict[str, Any]] = [
        {"dimension": d.name, "group": g.name, "wanted": g.count, "got": got.get((d.name, g.name), 0)}
        for d in design.dimensions
        for g in d.groups
        if got.get((d.name, g.name), 0) < g.count
    ]
    for u in unfilled:
        u["eligible"] = result.eligible.get((str(u["dimension"]), str(u["group"])), 0)
    manifest = {
        "version": 1,
        "run": str(Path(run_dir).resolve()),
        "design": design.to_dict(),
        "seed": seed,
        "clip_seconds": seconds,
        "fps": _media.FPS,
        "size": _media.SIZE,
        "sample_rate": _media.SAMPLE_RATE,
        "candidates": result.candidates,
        "clips": clips,
        "skipped": skipped,
        "unfilled": unfilled,
    }
    write_atomic(out / BENCH_JSON, json.dumps(manifest, indent=1, ensure_ascii=False).encode())
    hold_out(run, [c["clip_id"] for c in clips], str(out.resolve()))
    return manifest
