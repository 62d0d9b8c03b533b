"""Stage 1 and the filter stages' views of one source from its single decode (Note [Scene buffer]).

`SourceStream` is the scan's consumer and frame sink: it feeds the scene detector, keeps the decoded frames
in the stream's `SceneBuffer`, and when the detector closes a scene it makes the scene's clip, gates it
(duration, speech), asks the stages for their frames and hands the clip's views to `emit` (the model
queue) at once, while the scan goes on. Stages whose requests read the whole source (`whole_source`)
wait for the end of the scan, as does the last scene. `finish` then makes stage 1's final result
exactly as `segment_source` would (same scenes, clips, gates) and checks every early clip against it.

Note [Views beside the scan]: on the CPU, converting a clip's requested frames into its views (swscale to
RGB, the resizes, DOVER's mosaics) costs about as much as decoding them, and done in the scan's thread it
stops the scan from feeding libavcodec, whose threads then idle. So a clip closed during the scan is
converted on this stream's views thread (`views_0`) while the scan goes on: its frames are handed over with
`SceneBuffer.hold` (counted against the stream's budget until converted) and the clip is emitted from that
thread. At most one clip is converting: the next closed scene waits for it, and so does a frame that would
take the stream over its budget (its frames stay counted until converted, so the buffer evicts only what it
would have evicted with the conversion in the scan's thread); this keeps the memory bound and the model
queue's back-pressure on the scan. `finish` (and `close`, on any error) waits for it first, so every emit
happens before the scan's end is reported. On a GPU the conversions are kernels queued on the decode stream,
which never wait, so they stay in the scan's thread.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..clips import Clip
from ..decode import SceneBuffer, VideoDecoder, gather_views, requested_frames
from ..decode._scene_buffer import HeldFrames
from ..segment import (
    ClipVerdict,
    SceneCollector,
    SegmentParams,
    SegmentResult,
    SpeechGate,
    clip_of_scene,
    clips_from_scenes,
    make_collector,
    provisional_source,
    small_size,
    source_info,
)
from ..stages import FilterStage, FrameRequest, Views

log = logging.getLogger(__name__)

ClipKey = tuple[str, int, int, float, float]  #: (clip_id, start/end frame, start/end s): the clip a stage saw


def clip_key(clip: Clip) -> ClipKey:
    return (clip.clip_id, clip.start_frame, clip.end_frame, clip.start, clip.end)


@dataclass
class ClipViews:
    """One clip's views for every stage that could ask, and how they were obtained."""

    clip: Clip
    views: dict[str, Views]  #: stage name -> views
    request_errors: dict[str, str]  #: stage name -> why `requests` failed
    decode: dict[str, Any]  #: {"views": "scene_buffer" | "redecoded", ...} for the clip record


Emit = Callable[[ClipViews], None]


@dataclass
class StreamResult:
    segment: SegmentResult
    emitted: set[ClipKey]  #: clips handed to `emit` whose views match the final clips
    stale: set[ClipKey] = field(default_factory=set)  #: early clips the final scenes do not confirm
    views_seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)  #: source record's `decode` entry


class SourceStream:
    """Scan consumer + frame sink for one source (see the module docstring)."""

    def __init__(
        self,
        decoder: VideoDecoder,
        fields: dict[str, Any],
        params: SegmentParams,
        stages: dict[str, FilterStage],
        buffer: SceneBuffer,
        emit: Emit,
        export: bool = False,
    ) -> None:
        self.decoder, self.fields, self.params, self.stages = decoder, fields, params, stages
        self.buffer, self.emit = buffer, emit
        self.export = (
            export  #: media export reads the clips' frames from the buffer (Note [Export from the scan])
        )
        meta = decoder.metadata
        self.collector = make_collector(
            params.detector, params.detector_params, decoder.device, meta.rotation
        )
        # a detector that decides only at the end (TransNetV2's windows) closes no scene during the scan
        self.incremental = isinstance(self.collector, SceneCollector)
        self.source = provisional_source(decoder, fields)
        self.errors: list[dict[str, str]] = []
        self.speech = SpeechGate(self.source, params, self.errors)
        # early resolution only when no stage needs facts of the whole source
        self.early = self.incremental and bool(stages)
        self.early = self.early and not any(getattr(s, "whole_source", True) for s in stages.values())
        self.times: list[float] = []
        self.open_start = 0  #: first frame of the scene in progress
        self.closed: list[tuple[int, int, ClipVerdict]] = []  #: scenes closed during the scan
        self.emitted: set[ClipKey] = set()
        self.deferred: list[Clip] = []  #: clips whose frames were evicted: re-decoded after the scan
        self.redecoded: list[Clip] = []
        self.views_seconds = 0.0
        self.redecoded_requested = 0
        self.started = time.perf_counter()
        # Note [Views beside the scan]: the CPU converts early clips on a thread of its own
        self._beside = decoder.device.type == "cpu"
        self._views_pool: ThreadPoolExecutor | None = None
        self._converting: Future[None] | None = None

    # ---- during the scan --------------------------------------------------------------------------
    def keep(self, index: int, seconds: float, frame: Any) -> None:
        if self.times and seconds <= self.times[-1]:
            self.early = False  # not in presentation order: only the final, sorted timeline is trusted
        self.times.append(seconds)
        if self.stages or self.export:  # else no frame is ever wanted again
            if self._converting is not None:
                budget = self.buffer.budget
                if budget.bytes + self.decoder.frame_bytes(frame) > budget.budget_bytes:
                    self.wait_views()  # its frames free room: wait for them before evicting any
            self.buffer.add(index, frame)

    def __call__(self, index: int, number: int, small_bgr: np.ndarray) -> None:
        """The scan consumer: the detector's step, then any scene it closed."""
        if not isinstance(self.collector, SceneCollector):
            self.collector(index, number, small_bgr)
            return
        before = len(self.collector.cuts)
        self.collector(index, number, small_bgr)
        self._closed_by(before, index)

    @property
    def takes_histograms(self) -> bool:
        """Note [Device scan]: NVDEC may hand the histogram detector its per-frame feature instead."""
        return isinstance(self.collector, SceneCollector) and self.collector.takes_histograms

    def add_histogram(self, index: int, number: int, hist: np.ndarray) -> None:
        assert isinstance(self.collector, SceneCollector)
        before = len(self.collector.cuts)
        self.collector.add_histogram(index, number, hist)
        self._closed_by(before, index)

    def _closed_by(self, before: int, index: int) -> None:
        assert isinstance(self.collector, SceneCollector)
        if len(self.collector.cuts) > before:
            numbers = np.asarray(self.collector.numbers)
            for cut in sorted(set(self.collector.cuts[before:])):
                k = int(np.searchsorted(numbers, cut, side="left"))
                if self.open_start < k <= index:  # a cut not yet seen on a frame already decoded
                    self._close(self.open_start, k)
                    self.open_start = k

    def _close(self, a: int, b: int) -> None:
        n = len(self.closed) + 1
        clip, ok = clip_of_scene(self.source, n, a, b, np.asarray(self.times), self.params.span)
        verdict = ClipVerdict(clip, gates={"duration": ok}, failed_gate=None if ok else "duration")
        if ok:
            self.speech.apply([verdict])
        self.closed.append((a, b, verdict))
        if verdict.passed and self.early:
            self._resolve([clip], during_scan=True)
        if not verdict.passed or (self.early and not self.export):
            self.buffer.release(a, b)
        else:  # kept for the end of the scan or for the export; only the trimmed clip's frames
            self.buffer.release(a, clip.start_frame)
            self.buffer.release(clip.end_frame, b)

    def _requests(self, clip: Clip) -> tuple[list[tuple[Clip, str, list[FrameRequest]]], dict[str, str]]:
        work, errors = [], {}
        for name, stage in self.stages.items():
            try:
                work.append((clip, name, stage.requests(clip)))
            except Exception as exc:
                errors[name] = f"requests failed: {exc}"
        return work, errors

    def _resolve(self, clips: list[Clip], during_scan: bool) -> None:
        """Views of `clips` from the buffer; a clip with evicted frames waits to be re-decoded."""
        for clip in clips:
            work, errors = self._requests(clip)
            wanted = requested_frames(work)
            if self.buffer.missing(wanted):
                self.deferred.append(clip)
                continue
            if during_scan and self._beside:
                self.wait_views()  # one clip converting at a time (Note [Views beside the scan])
                held = self.buffer.hold(wanted, self.decoder.rgb)
                if self._views_pool is None:
                    self._views_pool = ThreadPoolExecutor(1, thread_name_prefix="views")
                self._converting = self._views_pool.submit(self._convert, clip, work, errors, held, True)
            else:
                self._convert(clip, work, errors, None, during_scan)

    def _convert(
        self,
        clip: Clip,
        work: list[tuple[Clip, str, list[FrameRequest]]],
        errors: dict[str, str],
        held: HeldFrames | None,
        during_scan: bool,
    ) -> None:
        t = time.perf_counter()
        try:
            frames = held.frames if held else (lambda idx: self.buffer.frames(idx, self.decoder.rgb))
            views, _ = gather_views(self.decoder, np.zeros(0, np.int64), work, frames)
        finally:
            if held:
                held.release()
        self.views_seconds += time.perf_counter() - t
        self._emit(clip, views, errors, {"views": "scene_buffer", "early": during_scan})

    def wait_views(self) -> None:
        """Waits for the clip converting beside the scan; its error (a bug) is raised here."""
        converting, self._converting = self._converting, None
        if converting is not None:
            converting.result()

    def close(self) -> None:
        """Ends the views thread (after its conversion, whose error is dropped: the source already failed)."""
        try:
            self.wait_views()
        except Exception:
            log.debug("views conversion failed after the source failed", exc_info=True)
        finally:
            if self._views_pool is not None:
                self._views_pool.shutdown(wait=True)
                self._views_pool = None

    def _emit(
        self, clip: Clip, views: dict[tuple[str, str], Views], errors: dict[str, str], decode: dict[str, Any]
    ) -> None:
        by_stage = {stage: v for (cid, stage), v in views.items() if cid == clip.clip_id}
        self.emitted.add(clip_key(clip))
        self.emit(ClipViews(clip, by_stage, errors, decode))

    # ---- after the scan ---------------------------------------------------------------------------
    def finish(self, scan: Any) -> StreamResult:
        """Stage 1's final result; clips not resolved during the scan are resolved now (buffer or re-decode)."""
        self.wait_views()
        source = source_info(self.decoder, scan, self.fields)
        scenes = self.collector.scenes()
        self.speech.source = source
        verdicts: list[ClipVerdict] = []
        todo: list[Clip] = []
        early_ok: set[ClipKey] = set()
        for n, (clip, ok) in enumerate(clips_from_scenes(source, scenes, scan.times, self.params.span)):
            if (
                n < len(self.closed)
                and self.closed[n][:2] == scenes[n]
                and clip_key(self.closed[n][2].clip) == clip_key(clip)
            ):
                old = self.closed[n][2]  # closed during the scan: reuse its gates, with the final source
                verdicts.append(dataclasses.replace(old, clip=clip))
                if clip_key(clip) in self.emitted:
                    early_ok.add(clip_key(clip))
                elif old.passed:
                    todo.append(clip)
                continue
            verdict = ClipVerdict(clip, gates={"duration": ok}, failed_gate=None if ok else "duration")
            if ok:
                self.speech.apply([verdict])
            verdicts.append(verdict)
            if verdict.passed:
                todo.append(clip)
        stale = self.emitted - early_ok
        if stale:
            log.warning(
                "%s: %d early clip(s) not confirmed by the final scenes", self.source.source_id, len(stale)
            )
        if self.stages:
            self.deferred = []  # early clips that were evicted are in `todo` again, with the final source
            self._resolve(todo, during_scan=False)
            self._redecode(scan.pts)
        if self.export:  # the passing clips' frames wait for their export; the worker then clears the buffer
            self.buffer.retain([(v.clip.start_frame, v.clip.end_frame) for v in verdicts if v.passed])
        else:
            self.buffer.clear()
        seg = SegmentResult(source, scan, scenes, verdicts, self.errors, time.perf_counter() - self.started)
        stats = {
            "frames_scanned": len(scan.times),
            "scene_buffer": self.buffer.stats(),
            "early_resolution": self.early,
            "redecoded_clips": len(self.redecoded),
            "redecoded_frames_requested": self.redecoded_requested,
        }
        return StreamResult(seg, self.emitted - stale, stale, self.views_seconds, stats)

    def _redecode(self, pts: np.ndarray) -> None:
        """The stated exception to one decode: clips whose frames the buffer evicted are decoded again."""
        clips = self.redecoded = list(self.deferred)
        if not clips:
            return
        work, errors = [], {}
        for clip in clips:
            w, e = self._requests(clip)
            work += w
            errors[clip.clip_id] = e
        self.redecoded_requested += len(requested_frames(work))
        views, seconds = gather_views(self.decoder, pts, work)
        self.views_seconds += seconds
        budget = self.buffer.budget_bytes
        for clip in clips:
            decode = {"views": "redecoded", "reason": "scene_buffer_full", "scene_buffer_bytes": budget}
            self._emit(clip, views, errors[clip.clip_id], decode)


def scan_size(decoder: VideoDecoder) -> tuple[int, int]:
    """scenedetect's own downscaled (width, height) for this source (Note [Scene parity])."""
    meta = decoder.metadata
    return small_size(meta.coded_width, meta.coded_height)
