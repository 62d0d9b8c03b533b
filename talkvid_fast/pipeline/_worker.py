"""Sources through every stage in one process (a CPU worker, or one GPU's worker), overlapped.

Note [Worker dataflow]: a Worker runs `decode_streams` decode threads and one model thread:

    sources ──► decode stream 1..N (threads; own CUDA stream on a GPU)
                  open_decoder → scan: every frame once ─► SceneCollector (scene detector)
                                    └─► SceneBuffer (frames of unresolved scenes and of clips awaiting
                                        export; one byte budget per stream)
                  scene closed → clip, duration + speech gates → stage requests → views from the buffer
                        │  model queue (bounded: clip_batch clips)
                        ▼
                model thread: batches of up to clip_batch clips, across sources ─► quality, motion, head
                        │  (a rejected clip's held frames are released here)
                        │  a source is done when its scan has ended and its last clip is scored
                        ▼
                caller's thread: records; export staged from the buffer into the encode pool (not waited for)
                        │  encode pool: x264 threads; a source's last encode puts it back on the done queue
                        ▼
                caller's thread: export paths into the records, yielded to the driver (the journal's one writer)

Decode, scene detection and view conversion of one source run while the model thread scores the clips of
scenes already closed and of earlier sources; on the CPU the decode thread and the model thread overlap
because libavcodec, swscale, OpenCV and torch release the GIL. Records are those of a one-source-at-a-time
run (the order of sources yielded may differ from the input order when N > 1), except that a batch may now mix
clips of several sources, which moves model outputs in the last float bits (DOVER: ~1e-8 relative, measured).
The CUDA side (per-stream events, `record_stream`) has not yet run on a GPU. Memory: per stream one
byte budget for its scene buffers (Note [Scene buffer]) plus the views of at most `clip_batch` queued clips,
`clip_batch` in the model thread and one clip being gathered per stream.

Note [Export from the scan]: media export reads the same decode as stage 1 and the filters. With `export`
in the stages (and `--export media`), `SourceStream` keeps the frames of every clip that passes stage 1 in
the scene buffer after its views are made; the model thread releases a clip's frames as soon as a stage
rejects it, and `finish` keeps only the passing clips' frames. When the source is scored, the caller's thread
builds its records and hands each clip that passed every stage to the encode pool (Note [Export pool])
through `SceneBuffer.take`, which converts the held frames to RGB one at a time as the pool's pinned chunks
take them. A clip with an evicted frame (the stream's budget was needed by a later scene, of this source or
of the next) is decoded again for its export, and its record says `export.frames_from = "redecoded"`,
`reason = "scene_buffer_full"` (else `"scene_buffer"`). The caller does not wait for the encodes: the
source comes back through the done queue when its last encode has ended, so the next scored source is
staged while this one encodes, and decode streams never wait for export. The records of a source are
yielded only once its files are in place, so the journal's one writer and crash/resume semantics are as
before. On a GPU the held frames are NV12 device copies made on the decode stream: the export's stream
waits on an event recorded after the scan, and each frame is `record_stream`-ed before it is freed (not yet
run on a GPU).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..clips import Clip
from ..decode import DecodeError, FrameBudget, SceneBuffer, open_decoder
from ..export import EncodePool, ExportedClip, export_clip_async, export_clips
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
    decoder: Any = None  #: the (closed) decoder: turns held frames into RGB for the export
    buffer: SceneBuffer | None = None  #: frames of passing clips held for the media export
    scan_done: Any = None  #: CUDA event on the decode stream after the scan (held frames are written)


@dataclass
class _Finishing:
    """A scored source in the caller's thread: its records, and the encodes of its export in flight."""

    job: _Job
    records: Records | None = None
    timings: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, float] = field(default_factory=dict)
    exports: list[tuple[Clip, Any, str]] = field(default_factory=list)  #: clip, Future or span, frames from
    export_started: float = 0.0
    failed: Records | None = None

    def when_done(self, callback: Callable[[], None]) -> None:
        """Calls `callback` (from any thread) once every encode of the export has ended."""
        futures = [f for _, f, _ in self.exports if isinstance(f, Future)]
        left = [len(futures)]
        lock = threading.Lock()

        def one_done(_: Any) -> None:
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                callback()

        if not futures:
            callback()
        for f in futures:
            f.add_done_callback(one_done)


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
        done: queue.Queue[_Job | _Finishing | BaseException | None] = queue.Queue()
        counts = {"started": 0}
        stop = threading.Event()  # the caller stopped early (an error, an interrupt): start no new source

        def next_source() -> dict[str, Any] | None:
            with todo_lock:
                fields = None if stop.is_set() else next(todo, None)
                if fields is not None:
                    counts["started"] += 1
                return fields

        def decode_loop(stream_no: int) -> None:
            budget = FrameBudget(self.buffer_bytes)  # this stream's frames, its sources' exports included
            try:
                with self._device_stream():
                    while (fields := next_source()) is not None:
                        job = _Job(fields, time.perf_counter())
                        self._decode(job, models, budget)
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
                if isinstance(item, _Finishing):  # its export's encodes have ended
                    yield self._complete(item)
                    yielded += 1
                    continue
                # records, and the export staged into the encode pool; the next scored source is taken up
                # while these encode (Note [Export from the scan])
                fin = self._start_finish(item)
                fin.when_done(functools.partial(done.put, fin))
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

    @property
    def _holds_export(self) -> bool:
        """Media export reads the scan's frames (Note [Export from the scan]); spans need none."""
        return "export" in self.config.stages and self.config.export.mode == "media"

    def _decode(self, job: _Job, models: queue.Queue[_Item | None], budget: FrameBudget) -> None:
        sid = str(job.fields["video-id"])
        self.trace("decode_start", sid)
        try:
            decoder = open_decoder(str(job.fields["video-path"]), self.config.decoder, self.config.device)
        except DecodeError as exc:
            job.failed = _failed(source_record(job.fields, None, None), exc.reason, exc.detail, job.started)
            self.trace("decode_end", sid)
            return
        job.decoder_name, job.meta, job.decoder = decoder.name, decoder.metadata, decoder

        def emit(views: ClipViews) -> None:
            ready = None
            if views.views and decoder.device.type == "cuda":
                ready = torch.cuda.Event()
                ready.record()
            with job.lock:
                job.pending += 1
            job.decode_info[clip_key(views.clip)] = views.decode
            models.put(_Item(job, views, ready))

        buffer = job.buffer = SceneBuffer(budget, decoder.frame_bytes)
        stream: SourceStream | None = None
        try:
            stream = SourceStream(
                decoder, job.fields, self.config.segment, self.stages, buffer, emit, self._holds_export
            )
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
            if (
                stream is not None
            ):  # no clip may be emitted after the scan is reported (Note [Views beside the scan])
                stream.close()
            if job.failed is not None or not self._holds_export:
                buffer.clear()
                job.buffer = None
            elif decoder.device.type == "cuda":
                job.scan_done = torch.cuda.Event()
                job.scan_done.record()
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
                held = job.buffer
                if held is not None and _rejected(job, item):  # its frames wait for no export
                    held.release(item.views.clip.start_frame, item.views.clip.end_frame)
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

    # ---- records and export (the caller's thread) ----------------------------------------------------
    def _start_finish(self, job: _Job) -> _Finishing:
        """A scored source's records, with its media export staged into the encode pool (not waited for)."""
        fin = _Finishing(job)
        try:
            if job.failed is not None:
                fin.failed = job.failed
                return fin
            fin.records = self._records(job, fin.timings, fin.inputs)
            if "export" in self.config.stages:
                self.trace("export_start", str(job.fields["video-id"]))
                self._start_export(job, fin)
        except Exception as exc:
            fin.failed = self._failure(job, exc)
        return fin

    def _complete(self, fin: _Finishing) -> Records:
        """`fin`'s records once its encodes have ended; a failure (in export, say) is recorded on the source."""
        job = fin.job
        try:
            if fin.failed is not None:
                return fin.failed
            assert fin.records is not None
            src, clips = fin.records
            if "export" in self.config.stages:
                self._end_export(fin, {c["clip_id"]: c for c in clips})
                self.trace("export_end", str(job.fields["video-id"]))
            fin.timings["total"] = time.perf_counter() - job.started
            assert job.result is not None
            fin.inputs["total"] = job.result.segment.source.duration
            src["timings"] = {k: round(v, 4) for k, v in fin.timings.items()}
            src["stage_input_seconds"] = {k: round(v, 4) for k, v in fin.inputs.items()}
            return src, clips
        except Exception as exc:
            return self._failure(job, exc)
        finally:
            if job.buffer is not None:
                job.buffer.clear()
                job.buffer = None

    def _failure(self, job: _Job, exc: Exception) -> Records:
        if isinstance(exc, DecodeError):
            return _failed(source_record(job.fields, None, None), exc.reason, exc.detail, job.started)
        log.error("source %s failed", job.fields["video-id"], exc_info=exc)
        detail = f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_exception(exc, limit=5))}"
        return _failed(source_record(job.fields, None, None), "internal_error", detail, job.started)

    def _records(self, job: _Job, timings: dict[str, float], inputs: dict[str, float]) -> Records:
        assert job.result is not None
        cfg, res = self.config, job.result
        seg = res.segment
        src = source_record(job.fields, job.meta, seg.source)
        src["errors"] = list(seg.errors)
        src["decoder"] = job.decoder_name
        src["scenes"] = len(seg.scenes)
        src["decode"] = {**res.stats, "stale_early_clips": len(res.stale)}
        timings.update(segment=seg.seconds, decode_scan=seg.scan.decode_seconds)
        timings["decode_views"] = res.views_seconds
        inputs.update(segment=seg.source.duration, decode_scan=seg.source.duration)
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
        return src, list(records.values())

    def _start_export(self, job: _Job, fin: _Finishing) -> None:
        """Stages every passing clip into the encode pool: its frames from the scan's buffer (Note [Export
        from the scan]), or decoded again when the buffer could not keep them; spans decode nothing."""
        cfg = self.config
        assert job.result is not None and fin.records is not None
        seg = job.result.segment
        fin.export_started = time.perf_counter()
        passing = {c["clip_id"] for c in fin.records[1] if c["passed"]}
        clips = [v.clip for v in seg.verdicts if v.passed and v.clip.clip_id in passing]
        if not clips:
            return
        folder = cfg.output / "clips" / _safe(seg.source.source_id)
        if cfg.export.mode == "spans":  # Note [Span export]
            fin.exports = [
                (clip, span, "")
                for clip, span in export_clips(None, seg.scan.pts, clips, folder, cfg.export, None)
            ]
            return
        if self.encode_pool is None:
            self.encode_pool = EncodePool(cfg.export.encode_workers)  # Note [Export pool]
        if job.scan_done is not None:  # the held frames were written on the decode stream
            torch.cuda.current_stream(torch.device(cfg.device)).wait_event(job.scan_done)
        decoder = None
        try:
            for clip in clips:
                held = (
                    job.buffer.take(clip.start_frame, clip.end_frame, job.decoder.rgb) if job.buffer else None
                )
                if held is None and decoder is None:
                    decoder = open_decoder(seg.source.path, cfg.decoder, cfg.device)
                source = job.decoder if held is not None else decoder
                assert source is not None
                future = export_clip_async(
                    source, seg.scan.pts, clip, folder, cfg.export, self.encode_pool, held
                )
                fin.exports.append((clip, future, "scene_buffer" if held is not None else "redecoded"))
        finally:
            if decoder is not None:
                decoder.close()

    def _end_export(self, fin: _Finishing, records: dict[str, dict[str, Any]]) -> None:
        cfg = self.config
        for clip, exported, frames_from in fin.exports:
            rec = records[clip.clip_id]
            fin.inputs["export"] = fin.inputs.get("export", 0.0) + clip.duration
            if not isinstance(exported, Future):  # a span (Note [Span export])
                rec["export"] = exported
                continue
            done: ExportedClip = exported.result()
            rec["export"] = {
                **done.__dict__,
                "video_path": _rel(done.video_path, cfg.output),
                "audio_path": _rel(done.audio_path, cfg.output),
                "first_frame_path": _rel(done.first_frame_path, cfg.output),
                "subtitle_path": _rel(done.subtitle_path, cfg.output),
                "frames_from": frames_from,
            }
            if frames_from == "redecoded":
                rec["export"]["reason"] = "scene_buffer_full"
        fin.timings["export"] = time.perf_counter() - fin.export_started if fin.exports else 0.0


def _rejected(job: _Job, item: _Item) -> bool:
    """Whether a scored clip has failed a stage (or its requests): no export will want its frames."""
    if item.views.request_errors:
        return True
    results = job.stage_results.get(clip_key(item.views.clip), {})
    return any(r.error is not None or not r.passed for r, _ in results.values())


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
