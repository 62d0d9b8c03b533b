"""The prepare run: read a curation run, prepare its passing clips source by source, resumably.

Note [Prepare journal]: the output folder has its own `journal.jsonl` (manifest/_journal.py, Note
[Journal]): one batch per source, its clip records (prepared, or dropped with a reason) then the source
record, appended in one write and fsync'd after every file of those clips is in place (files are written
under temporary names and renamed). A rerun skips committed sources and rewrites the clips of the source
that was in flight, so a kill loses at most one source's work and nothing is listed twice. `prepare.json`
holds the parameters the files depend on; a rerun with others is refused (use another `--out` or `--fresh`).
The trainer's manifest is rewritten atomically from the journal at the end of every run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..manifest import Journal, read_run, write_atomic
from ..stages._api import StageUnavailable
from ._layouts import Layout
from ._source import PrepareParams, SourcePreparer

PARAMS_FILE = "prepare.json"
SUMMARY_FILE = "prepare_summary.json"
#: every folder a layout writes (Note [Trainer layouts]); `--fresh` empties them
LAYOUT_FOLDERS = ("videos-crop", "videos", "images", "clips", "shards", "face_info", "audios", "audio_embeds",
                  "face_mask", "sep_face_mask", "sep_pose_mask", "sep_lip_mask", "data")  # fmt: skip


class ParamsChanged(Exception):
    """The output folder was prepared with other parameters, or is not a prepare output at all."""


@dataclass
class PrepareSummary:
    clips: int  #: passing clips of the run
    prepared: int
    dropped: dict[str, int]  #: reason -> clips
    this_run_clips: int  #: clips handled by this invocation (not skipped as committed)
    seconds: float  #: wall time of this invocation
    cpu_seconds: float  #: CPU time of this process (all threads): what a busy shared machine does not inflate
    video_seconds: float  #: seconds of prepared video written by this invocation
    manifests: list[str]
    audio_features: str  #: "wav2vec2_base_960h" or "not run: ..." / "off"
    timings: dict[
        str, float
    ]  #: seconds of this invocation by part (source: decode and everything per source)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["clips_per_second"] = round(self.this_run_clips / self.seconds, 4) if self.seconds else None
        # RTF as everywhere in the project: seconds of (output) video per wall (or CPU) second
        d["rtf"] = round(self.video_seconds / self.seconds, 4) if self.seconds else None
        d["rtf_cpu"] = round(self.video_seconds / self.cpu_seconds, 4) if self.cpu_seconds else None
        return d


def _check_params(out: Path, run_dir: Path, params: PrepareParams, fresh: bool) -> None:
    """Refuses a folder that is not a prepare output (nothing of the user's is overwritten or deleted) or was
    prepared with other parameters; `fresh` empties a prepare output first."""
    fields = params.digest_fields()
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    path = out / PARAMS_FILE
    if out.exists() and not path.is_file() and any(out.iterdir()):
        raise ParamsChanged(f"{out} is not empty and holds no {PARAMS_FILE}: choose a new or empty --out")
    if fresh and path.is_file():
        for name in ("journal.jsonl", SUMMARY_FILE, PARAMS_FILE):
            (out / name).unlink(missing_ok=True)
        for sub in LAYOUT_FOLDERS:
            shutil.rmtree(out / sub, ignore_errors=True)
    if path.is_file():
        old = json.loads(path.read_text())
        if old.get("digest") != digest:
            raise ParamsChanged(
                f"{out} was prepared with {old.get('params')}, not {fields}: use another --out, or --fresh"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    info = {"run": str(run_dir.resolve()), "params": fields, "digest": digest}
    write_atomic(path, json.dumps(info, indent=2).encode())


def _face_backend(run_head: dict[str, Any], device: str, runtime: str | None) -> Any:
    from ..engines import pick_device
    from ..head._facemesh_backend import FaceMeshBackend

    p = run_head if run_head.get("backend", "facemesh") == "facemesh" else {}
    return FaceMeshBackend(
        pick_device(device),
        detector=str(p.get("detector", "full_range")),
        min_score=p.get("min_detection_score"),
        nms_iou=float(p.get("nms_iou", 0.3)),
        min_presence=float(p.get("min_presence", 0.5)),
        batch_size=int(p.get("batch_size", 64)),
        precision=str(p.get("precision", "fp32")) if device.startswith("cuda") else "fp32",
        runtime=runtime
        or str(p.get("runtime", "auto")),  # the run's engine unless given (onnxruntime, TensorRT)
    )


def _features(params: PrepareParams) -> tuple[Any, str]:
    if params.audio_features is None:
        return None, "off"
    from ..engines import pick_device
    from ._audio_features import AudioFeatures

    try:
        return AudioFeatures.load(pick_device(params.device)), AudioFeatures.name
    except StageUnavailable as exc:
        return None, f"not run: {exc}"


def prepare_run(
    run_dir: Path,
    out: Path,
    params: PrepareParams,
    shard_clips: int = 100,
    fresh: bool = False,
    log: Callable[[str], None] = print,
) -> PrepareSummary:
    """Prepares every passing clip of the run in `run_dir` into `out` (Note [Prepare journal])."""
    started, cpu_started = time.perf_counter(), time.process_time()
    run = read_run(run_dir)
    layout = Layout(params.format, out, shard_clips)
    _check_params(out, run_dir, params, fresh)
    for stale in out.rglob(".*.tmp*"):  # files a killed run left under temporary names
        stale.unlink(missing_ok=True)
    sources = {s["source_id"]: s for s in run.sources}
    passing: dict[str, list[dict[str, Any]]] = {}
    for c in run.clips:
        if c.get("passed"):
            passing.setdefault(c["source_id"], []).append(c)
    journal = Journal(out)
    todo = [sid for sid in sorted(passing) if not journal.done(sid)]
    features, features_state = _features(params) if todo else (None, "off")
    if params.audio_features and not todo:
        features_state = "not needed: every clip was prepared before"
    if params.audio_features and features is None:
        log(f"audio features {features_state}")
    handled, video_seconds = 0, 0.0
    timings: Counter[str] = Counter()
    try:
        if todo:
            preparer = SourcePreparer(
                params, layout, _face_backend(run.section("head"), params.device, params.runtime), features
            )
        for n, sid in enumerate(todo, 1):
            src = sources.get(sid, {})
            path = src.get("path") or passing[sid][0]["source_path"]
            srec, crecs = preparer.source(path, src.get("audio_path"), passing[sid])
            for r in crecs:
                r["source_id"] = sid
                r["source_path"] = path
            journal.append({"source_id": sid, "path": path, **srec}, crecs)
            handled += len(crecs)
            timings["source"] += srec.get("seconds", 0.0)
            for r in crecs:
                timings.update(r.get("timings", {}))
            video_seconds += sum(r["frames"] / r["fps"] for r in crecs if r["status"] == "ok")
            ok = sum(r["status"] == "ok" for r in crecs)
            log(f"[{n}/{len(todo)}] {sid}: {ok} of {len(crecs)} clips prepared")
        records = [c for _, cs in journal.records() for c in cs]
    finally:
        journal.close()
    ok_records = [r for r in records if r["status"] == "ok"]
    manifests = layout.assemble(ok_records)
    summary = PrepareSummary(
        clips=sum(len(v) for v in passing.values()),
        prepared=len(ok_records),
        dropped=dict(Counter(r["reason"] for r in records if r["status"] != "ok")),
        this_run_clips=handled,
        seconds=round(time.perf_counter() - started, 3),
        cpu_seconds=round(time.process_time() - cpu_started, 3),
        video_seconds=round(video_seconds, 3),
        manifests=[str(m) for m in manifests],
        audio_features=features_state,
        timings={k: round(v, 3) for k, v in timings.items()},
    )
    write_atomic(out / SUMMARY_FILE, json.dumps(summary.as_dict(), indent=2).encode())
    return summary
