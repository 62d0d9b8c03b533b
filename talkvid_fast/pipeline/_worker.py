"""Sources through every stage in one process (a CPU worker, or one GPU's worker), overlapped.

Note [Worker dataflow]: a Worker runs `decode_streams` decode threads and one model thread:

    sources ──► decode stream 1..N (threads; own CUDA stream on a GPU)
                  open_decoder → scan: every frame once ─► SceneCollector (scene detector)
                                    └─► SceneBuffer (frames of unresolved scenes, byte budget)
                  scene closed → clip, duration + speech gates → stage requests → views from the buffer
                        │  model queue (bounded: clip_batch clips)
                        ▼
                model thread: batches of up to clip_batch clips, across sources ─► quality, motion, head
                        │  a source is done when its scan has ended and its last clip is scored
                        ▼
                caller's thread: export (if asked), records, yielded to the driver (the journal's one writer)

Decode, scene detection and view conversion of one source run while the model thread scores the clips of
scenes already closed and of earlier sources; on the CPU the decode thread and the model thread overlap
because libavcodec, swscale, OpenCV and torch release the GIL. Records are those of a one-source-at-a-time
run (the order of sources yielded may differ from the input order when N > 1), except that a batch may now mix
clips of several sources, which moves model outputs in the last float bits (DOVER: ~1e-8 relative, measured).
The CUDA side (per-stream events, `record_stream`) has not yet run on a GPU. Memory: per stream one
scene buffer (Note [Scene buffer]) plus the views of at most `clip_batch` queued clips, `clip_batch` in the
model thread and one clip being gathered per stream.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..decode import DecodeError, SceneBuffer, open_decoder
from ..export import EncodePool, export_clips
from ..stages import FilterStage, StageResult, StageUnavailable, load_stage
from ._config import RunConfig
from ._records import add_stage_not_run, add_stage_result, clip_record, source_record
from ._source_stream import ClipKey, ClipViews, SourceStream, StreamResult, clip_key, scan_size
from ._streams import buffer_bytes, decode_streams

log = logging.getLogger(__name__)

Records = tuple[dict[str, Any], list[dict[str, Any]]]
Trace = Callable[[str, str], None]  #: (event, detail): "decode_start"/"decode_end" source, "model_start"/...


@dataclass
class _Job:
    """One source in flight."""

    fields: dict[str, Any]
    started: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: int = 0  #: clips handed to the model thread and not yet scored
    scanned: bool = False
    failed: Records | None = None
    result: StreamResult | None = None
    decoder_name: str = ""
    meta: Any = None  #: the decoder's VideoMetadata
    decode_info: dict[ClipKey, dict[str, Any]] = field(default_factory=dict)
    stage_results: dict[ClipKey, dict[str, tuple[StageResult, float]]] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_inputs: dict[str, float] = field(default_factory=dict)


@dataclass
class _Item:
    job: _Job
    views: ClipViews
    ready: Any = None  #: CUDA event recorded on the decode stream after the views were written


class Worker:
    """Holds the loaded stages (models load once per worker) and runs sources through them."""

    def __init__(self, config: RunConfig, trace: Trace | None = None) -> None:
        self.config = config
        self.stages: dict[str, FilterStage] = {}
        self.unavailable: dict[str, str] = {}
        self.encode_pool: EncodePool | None = None  #: x264 threads, made at the first media export
        self.streams = decode_streams(config.decode_streams, config.device)
        self.buffer_bytes = buffer_bytes(config.scene_buffer_mb, config.device)
        self._trace = trace
        for name in config.filter_stages:
            try:
                stage = load_stage(name, config.profile.section(name), device=config.device)
                stage.setup()
                self.stages[name] = stage
            except StageUnavailable as exc:
                self.unavailable[name] = str(exc)

    def trace(self, event: str, detail: str) -> None:
        if self._trace is not None:
            self._trace(event, detail)

    def process(self, fields: dict[str, Any]) -> Records:
        """One source; never raises for a bad source: the error becomes the source record's status."""
        (records,) = list(self.process_many([fields]))
        return records

    def process_many(self, sources: Iterable[dict[str, Any]]) -> Iterator[Records]:
        """Every source's records, as each finishes (Note [Worker dataflow])."""
        todo = iter(sources)
        todo_lock = threading.Lock()
        models: queue.Queue[_Item | None] = queue.Queue(maxsize=max(1, self.config.clip_batch))
        done: queue.Queue[_Job | BaseException | None] = queue.Queue()
        counts = {"started": 0}
        stop = threading.Event()  # the caller stopped early (an error, an interrupt): start no new source

        def next_source() -> dict[str, Any] | None:
            with todo_lock:
                fields = None if stop.is_set() else next(todo, None)
                if fields is not None:
                    counts["started"] += 1
                return fields

        def decode_loop(stream_no: int) -> None:
            try:
                with self._device_stream():
                    while (fields := next_source()) is not None:
                        job = _Job(fields, time.perf_counter())
                        self._decode(job, models, stream_no)
                        with job.lock:
                            job.scanned = True
                            finished = job.pending == 0
                        if finished:
                            done.put(job)
            except BaseException as exc:  # a bug in this machinery: surface it in the caller's thread
                done.put(exc)
            finally:
                done.put(None)

        model_thread = threading.Thread(target=self._model_loop, args=(models, done), daemon=True)
        model_thread.start()
        decoders = [
            threading.Thread(target=decode_loop, args=(i,), daemon=True, name=f"decode-{i}")
            for i in range(self.streams)
        ]
        for t in decoders:
            t.start()
        yielded, ended = 0, 0
        try:
            while ended < len(decoders) or yielded < counts["started"]:
                item = done.get()
                if item is None:
                    ended += 1
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield self._finish_safely(item)
                yielded += 1
        finally:
            stop.set()
            models.put(None)
            model_thread.join(timeout=60)

    # ---- decode streams --------------------------------------------------------------------------
    def _device_stream(self) -> contextlib.AbstractContextManager[Any]:
        """Each decode thread works on its own CUDA stream (NVDEC and the view conversions queue there)."""
        if not self.config.device.startswith("cuda"):
            return contextlib.nullcontext()
        device = torch.device(self.config.device)
        return torch.cuda.stream(torch.cuda.Stream(device))

    def _decode(self, job: _Job, models: queue.Queue[_Item | None], stream_no: int) -> None:
        sid = str(job.fields["video-id"])
        self.trace("decode_start", sid)
        try:
            decoder = open_decoder(str(job.fields["video-path"]), self.config.decoder, self.config.device)
        except DecodeError as exc:
            job.failed = _failed(source_record(job.fields, None, None), exc.reason, exc.detail, job.started)
            self.trace("decode_end", sid)
            return
        job.decoder_name, job.meta = decoder.name, decoder.metadata

        def emit(views: ClipViews) -> None:
            ready = None
            if views.views and decoder.device.type == "cuda":
                ready = torch.cuda.Event()
                ready.record()
            with job.lock:
                job.pending += 1
            job.decode_info[clip_key(views.clip)] = views.decode
            models.put(_Item(job, views, ready))

        buffer = SceneBuffer(self.buffer_bytes, decoder.frame_bytes)
        try:
            stream = SourceStream(decoder, job.fields, self.config.segment, self.stages, buffer, emit)
            scan = decoder.scan(scan_size(decoder), stream, keep=stream.keep)
            self.trace("scan_end", sid)
            job.result = stream.finish(scan)
        except DecodeError as exc:
            job.failed = _failed(source_record(job.fields, None, None), exc.reason, exc.detail, job.started)
        except Exception as exc:  # a bug or an unexpected input: record it, keep the run going
            log.exception("source %s failed", sid)
            job.failed = _failed(
                source_record(job.fields, None, None),
                "internal_error",
                f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}",
                job.started,
            )
        finally:
            buffer.clear()
            decoder.close()
            self.trace("decode_end", sid)

    # ---- the model thread ------------------------------------------------------------------------
    def _model_loop(self, models: queue.Queue[_Item | None], done: queue.Queue[Any]) -> None:
        while True:
            first = models.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.config.clip_batch:
                try:
                    item = models.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    models.put(None)  # seen again by the outer get
                    break
                batch.append(item)
            try:
                self._score(batch)
            except BaseException as exc:  # never leave a source waiting: record the failure on its clips
                log.exception("model batch failed")
                for item in batch:
                    for name in self.stages:
                        item.job.stage_results.setdefault(clip_key(item.views.clip), {})[name] = (
                            StageResult(error=f"{type(exc).__name__}: {exc}"),
                            0.0,
                        )
            for item in batch:
                job = item.job
                with job.lock:
                    job.pending -= 1
                    finished = job.scanned and job.pending == 0
                if finished:
                    done.put(job)

    def _score(self, batch: list[_Item]) -> None:
        """Every stage over a batch of clips from any sources (with --cascade, only clips still passing)."""
        alive = {id(item): True for item in batch}
        if torch.cuda.is_available() and self.config.device.startswith("cuda"):
            current = torch.cuda.current_stream(torch.device(self.config.device))
            for item in batch:
                if item.ready is not None:
                    current.wait_event(item.ready)
                for views in item.views.views.values():
                    for tensor in views.values():
                        if tensor.is_cuda:
                            tensor.record_stream(current)
        detail = ",".join(sorted({str(item.job.fields["video-id"]) for item in batch}))
        for name, stage in self.stages.items():
            for item in batch:  # a stage whose requests failed gets that error as its result
                if name in item.views.request_errors:
                    item.job.stage_results.setdefault(clip_key(item.views.clip), {})[name] = (
                        StageResult(error=item.views.request_errors[name]),
                        0.0,
                    )
                    alive[id(item)] = False
            todo = [i for i in batch if name in i.views.views and (alive[id(i)] or not self.config.cascade)]
            if not todo:
                continue
            self.trace("model_start", f"{name}:{detail}")
            t = time.perf_counter()
            try:
                device = torch.device(
                    self.config.device
                )  # a source that fell back to PyAV decoded on the host
                results = stage.process([(i.views.clip, _on(i.views.views.pop(name), device)) for i in todo])
            except Exception as exc:
                log.exception("stage %s failed on a batch", name)
                results = [StageResult(error=f"{type(exc).__name__}: {exc}") for _ in todo]
            seconds = time.perf_counter() - t
            self.trace("model_end", f"{name}:{detail}")
            for item, result in zip(todo, results, strict=True):
                job, clip = item.job, item.views.clip
                job.stage_results.setdefault(clip_key(clip), {})[name] = (result, seconds / len(todo))
                job.stage_seconds[name] = job.stage_seconds.get(name, 0.0) + seconds / len(todo)
                job.stage_inputs[name] = job.stage_inputs.get(name, 0.0) + clip.duration
                alive[id(item)] = alive[id(item)] and result.error is None and result.passed

    # ---- records ---------------------------------------------------------------------------------
    def _finish_safely(self, job: _Job) -> Records:
        """`_finish`, with a failure (in export, say) recorded on the source as before."""
        try:
            return self._finish(job)
        except DecodeError as exc:
            return _failed(source_record(job.fields, None, None), exc.reason, exc.detail, job.started)
        except Exception as exc:
            log.exception("source %s failed", job.fields["video-id"])
            detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            return _failed(source_record(job.fields, None, None), "internal_error", detail, job.started)

    def _finish(self, job: _Job) -> Records:
        if job.failed is not None:
            return job.failed
        assert job.result is not None
        cfg, res = self.config, job.result
        seg = res.segment
        src = source_record(job.fields, job.meta, seg.source)
        src["errors"] = list(seg.errors)
        src["decoder"] = job.decoder_name
        src["scenes"] = len(seg.scenes)
        src["decode"] = {**res.stats, "stale_early_clips": len(res.stale)}
        timings = {"segment": seg.seconds, "decode_scan": seg.scan.decode_seconds}
        timings["decode_views"] = res.views_seconds
        inputs = {"segment": seg.source.duration, "decode_scan": seg.source.duration}
        records = {
            v.clip.clip_id: clip_record(v, cfg.profile.name, cfg.segment.detector) for v in seg.verdicts
        }
        for rec in records.values():
            for name, reason in self.unavailable.items():
                add_stage_not_run(rec, name, reason)
        viewed = 0.0
        for v in seg.verdicts:
            key = clip_key(v.clip)
            if key not in res.emitted:
                continue
            rec = records[v.clip.clip_id]
            rec["decode"] = job.decode_info.get(key, {})
            viewed += v.clip.duration
            for name in self.stages:  # in stage order, as the first failed gate depends on it
                if name in job.stage_results.get(key, {}):
                    result, seconds = job.stage_results[key][name]
                    add_stage_result(rec, name, result, seconds)
        inputs["decode_views"] = viewed
        for name, seconds in job.stage_seconds.items():
            timings[name] = seconds
            inputs[name] = job.stage_inputs[name]
        if "export" in cfg.stages:
            self._export(seg, records, timings, inputs)
        timings["total"] = time.perf_counter() - job.started
        inputs["total"] = seg.source.duration
        src["timings"] = {k: round(v, 4) for k, v in timings.items()}
        src["stage_input_seconds"] = {k: round(v, 4) for k, v in inputs.items()}
        return src, list(records.values())

    def _export(
        self,
        seg: Any,
        records: dict[str, dict[str, Any]],
        timings: dict[str, float],
        inputs: dict[str, float],
    ) -> None:
        """Media export decodes its clips again (export/ owns that decode; see docs/architecture.md); spans
        decode nothing (Note [Span export])."""
        cfg = self.config
        t = time.perf_counter()
        folder = cfg.output / "clips" / _safe(seg.source.source_id)
        passed = [v.clip for v in seg.verdicts if v.passed and records[v.clip.clip_id]["passed"]]
        if passed:
            if cfg.export.mode == "media" and self.encode_pool is None:
                self.encode_pool = EncodePool(cfg.export.encode_workers)  # Note [Export pool]
            media = cfg.export.mode == "media"
            decoder = open_decoder(seg.source.path, cfg.decoder, cfg.device) if media else None
            try:
                for clip, exported in export_clips(
                    decoder, seg.scan.pts, passed, folder, cfg.export, self.encode_pool
                ):
                    rec = records[clip.clip_id]
                    inputs["export"] = inputs.get("export", 0.0) + clip.duration
                    if isinstance(exported, dict):  # a span (Note [Span export])
                        rec["export"] = exported
                        continue
                    rec["export"] = {
                        **exported.__dict__,
                        "video_path": _rel(exported.video_path, cfg.output),
                        "audio_path": _rel(exported.audio_path, cfg.output),
                        "first_frame_path": _rel(exported.first_frame_path, cfg.output),
                        "subtitle_path": _rel(exported.subtitle_path, cfg.output),
                    }
            finally:
                if decoder is not None:
                    decoder.close()
        timings["export"] = time.perf_counter() - t


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
