"""One source through every stage, in one process (a CPU worker, or one GPU's worker)."""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from ..clips import Clip
from ..decode import DecodeError, VideoDecoder, gather_views, open_decoder
from ..export import EncodePool, export_clips
from ..segment import segment_source
from ..stages import FilterStage, StageResult, StageUnavailable, load_stage
from ._config import RunConfig
from ._records import add_stage_not_run, add_stage_result, clip_record, source_record

log = logging.getLogger(__name__)

Records = tuple[dict[str, Any], list[dict[str, Any]]]


class Worker:
    """Holds the loaded stages (models load once per worker) and processes sources one at a time."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.stages: dict[str, FilterStage] = {}
        self.unavailable: dict[str, str] = {}
        self.encode_pool: EncodePool | None = None  #: x264 threads, made at the first media export
        for name in config.filter_stages:
            try:
                stage = load_stage(name, config.profile.section(name), device=config.device)
                stage.setup()
                self.stages[name] = stage
            except StageUnavailable as exc:
                self.unavailable[name] = str(exc)

    def process(self, fields: dict[str, Any]) -> Records:
        """Never raises for a bad source: the error becomes the source record's status and reason."""
        started = time.perf_counter()
        src = source_record(fields, None, None)
        try:
            decoder = open_decoder(str(fields["video-path"]), self.config.decoder, self.config.device)
        except DecodeError as exc:
            return _failed(src, exc.reason, exc.detail, started)
        try:
            return self._process_open(decoder, fields, started)
        except DecodeError as exc:
            return _failed(src, exc.reason, exc.detail, started)
        except Exception as exc:  # a bug or an unexpected input: record it, keep the run going
            log.exception("source %s failed", fields["video-id"])
            return _failed(
                src,
                "internal_error",
                f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}",
                started,
            )
        finally:
            decoder.close()

    def _process_open(self, decoder: VideoDecoder, fields: dict[str, Any], started: float) -> Records:
        cfg = self.config
        seg = segment_source(decoder, fields, cfg.segment)
        src = source_record(fields, decoder.metadata, seg.source)
        src["errors"] = list(seg.errors)
        src["decoder"] = decoder.name
        src["scenes"] = len(seg.scenes)
        timings = {"segment": seg.seconds, "decode_scan": seg.scan.decode_seconds}
        # seconds of video each stage consumed: RTF per stage = these / the stage's wall seconds
        inputs = {"segment": seg.source.duration, "decode_scan": seg.source.duration}
        records = {
            v.clip.clip_id: clip_record(v, cfg.profile.name, cfg.segment.detector) for v in seg.verdicts
        }
        for rec in records.values():
            for name, reason in self.unavailable.items():
                add_stage_not_run(rec, name, reason)
        alive = [v.clip for v in seg.verdicts if v.passed]
        for i in range(0, len(alive), max(1, cfg.clip_batch)):
            self._filter_batch(decoder, seg.scan.pts, alive[i : i + cfg.clip_batch], records, timings, inputs)
        if "export" in cfg.stages:
            t = time.perf_counter()
            folder = cfg.output / "clips" / _safe(seg.source.source_id)
            passing = [clip for clip in alive if records[clip.clip_id]["passed"]]
            if cfg.export.mode == "media" and self.encode_pool is None:
                self.encode_pool = EncodePool(cfg.export.encode_workers)  # Note [Export pool]
            for clip, exported in export_clips(
                decoder, seg.scan.pts, passing, folder, cfg.export, self.encode_pool
            ):
                rec = records[clip.clip_id]
                inputs["export"] = inputs.get("export", 0.0) + clip.duration
                if isinstance(exported, dict):  # a span (Note [Span export])
                    rec["export"] = exported
                else:
                    rec["export"] = {
                        **exported.__dict__,
                        "video_path": _rel(exported.video_path, cfg.output),
                        "audio_path": _rel(exported.audio_path, cfg.output),
                        "first_frame_path": _rel(exported.first_frame_path, cfg.output),
                        "subtitle_path": _rel(exported.subtitle_path, cfg.output),
                    }
            timings["export"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
        inputs["total"] = seg.source.duration
        src["timings"] = {k: round(v, 4) for k, v in timings.items()}
        src["stage_input_seconds"] = {k: round(v, 4) for k, v in inputs.items()}
        return src, list(records.values())

    def _filter_batch(
        self,
        decoder: VideoDecoder,
        pts: Any,
        clips: list[Clip],
        records: dict[str, dict[str, Any]],
        timings: dict[str, float],
        inputs: dict[str, float],
    ) -> None:
        work = []
        for clip in clips:
            for name, stage in self.stages.items():
                try:
                    work.append((clip, name, stage.requests(clip)))
                except Exception as exc:
                    add_stage_result(
                        records[clip.clip_id], name, StageResult(error=f"requests failed: {exc}"), 0.0
                    )
        views, seconds = gather_views(decoder, pts, work)
        timings["decode_views"] = timings.get("decode_views", 0.0) + seconds
        inputs["decode_views"] = inputs.get("decode_views", 0.0) + sum(c.duration for c in clips)
        cfg_device = torch.device(self.config.device)  # a source that fell back to PyAV decoded on the host
        for name, stage in self.stages.items():
            todo = [
                c for c in clips if (c.clip_id, name) in views and name not in records[c.clip_id]["stages"]
            ]
            if self.config.cascade:
                todo = [c for c in todo if records[c.clip_id]["passed"]]
            if not todo:
                continue
            t = time.perf_counter()
            try:
                results = stage.process([(c, _on(views.pop((c.clip_id, name)), cfg_device)) for c in todo])
            except Exception as exc:
                log.exception("stage %s failed on a batch", name)
                results = [StageResult(error=f"{type(exc).__name__}: {exc}") for _ in todo]
            seconds = time.perf_counter() - t
            timings[name] = timings.get(name, 0.0) + seconds
            inputs[name] = inputs.get(name, 0.0) + sum(c.duration for c in todo)
            for clip, result in zip(todo, results, strict=True):
                add_stage_result(records[clip.clip_id], name, result, seconds / len(todo))


def _failed(src: dict[str, Any], reason: str, detail: str, started: float) -> Records:
    src["status"] = "error"
    src["errors"] = [{"reason": reason, "detail": detail}]
    src["timings"] = {"total": round(time.perf_counter() - started, 4)}
    return src, []


def _on(views: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Views on the stage's device (FrameRequest's contract), whichever decoder wrote them."""
    return {k: v if v.device == device else v.to(device) for k, v in views.items()}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in name)


def _rel(path: str | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
