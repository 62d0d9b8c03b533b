"""Annotating a run's clips: bounded concurrency, validated replies, the journal, the token and cost summary."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..decode import DecodeError, frames_at_times
from ..manifest import read_run, write_atomic
from ._client import ChatClient, EndpointFatal, RequestFailed
from ._frames import sample_times
from ._language import clip_transcript, resolve_language
from ._prompt import ImageOptions, build_messages, data_url, prompt_digest, retry_message
from ._store import AnnotationStore
from ._validate import UNKNOWN, InvalidReply, validate_reply

SUMMARY = "annotations_summary.json"
FrameSource = Callable[[dict[str, Any], int], list[np.ndarray]]


@dataclass(frozen=True)
class AnnotateOptions:
    frames: int = 8  #: frames sent per clip (Note [Annotation frames])
    concurrency: int = 4  #: requests in flight at once
    max_invalid: int = 2  #: re-asks after an invalid reply (each with the validation error appended)
    image: ImageOptions = field(default_factory=ImageOptions)
    price_in: float = 0.0  #: price per million prompt tokens
    price_out: float = 0.0  #: price per million completion tokens
    all_clips: bool = False  #: annotate every clip, not only those that passed every gate
    retry_failed: bool = True  #: a rerun asks again for clips whose earlier attempts failed
    demographics: bool = True  #: send our addendum (groups, subtitles); False: the paper's prompt alone

    def __post_init__(self) -> None:
        if self.frames < 1 or self.concurrency < 1 or self.max_invalid < 0:
            raise ValueError("frames and concurrency must be >= 1, max_invalid >= 0")
        if self.price_in < 0 or self.price_out < 0:
            raise ValueError("prices must be >= 0")


@dataclass
class AnnotateSummary:
    clips: int = 0  #: clips eligible (passing, or all with all_clips)
    cached: int = 0  #: already annotated with the same cache key: not requested
    skipped_failed: int = 0  #: failed before and not retried (retry_failed off)
    annotated: int = 0
    failed: dict[str, int] = field(default_factory=dict)  #: failed clips by reason
    requests: int = 0  #: HTTP requests sent, retries included
    retried: dict[str, int] = field(default_factory=dict)  #: retried request failures by kind
    invalid_replies: int = 0  #: replies rejected by the validator (then re-asked)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0  #: prompt_tokens * price_in / 1e6 + completion_tokens * price_out / 1e6
    seconds: float = 0.0
    stopped: str | None = None  #: why the run stopped early (EndpointFatal), if it did

    def add(self, rec: dict[str, Any]) -> None:
        if rec["status"] == "ok":
            self.annotated += 1
        else:
            self.failed[rec["reason"]] = self.failed.get(rec["reason"], 0) + 1
        self.requests += rec["requests"]
        self.invalid_replies += rec["invalid_replies"]
        for kind, n in rec["retried"].items():
            self.retried[kind] = self.retried.get(kind, 0) + n
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            setattr(self, key, getattr(self, key) + int(rec["usage"].get(key, 0)))

    def text(self) -> str:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(self.failed.items())) or "none"
        retried = ", ".join(f"{k} {v}" for k, v in sorted(self.retried.items())) or "none"
        lines = [
            f"clips {self.clips}: annotated {self.annotated}, cached {self.cached}, failed {failed}"
            + (f", skipped (failed before) {self.skipped_failed}" if self.skipped_failed else ""),
            f"requests {self.requests} (retried: {retried}; invalid replies re-asked {self.invalid_replies})",
            f"tokens: prompt {self.prompt_tokens}, completion {self.completion_tokens}, "
            f"total {self.total_tokens}; cost {self.cost:.4f}; {self.seconds:.1f} s",
        ]
        if self.stopped:
            lines.append(f"STOPPED: {self.stopped}")
        return "\n".join(lines)


def cache_key(model: str, options: AnnotateOptions) -> str:
    """What makes two annotations of a clip the same (Note [Annotation journal])."""
    blob = json.dumps([prompt_digest(), model, options.frames, asdict(options.image)])
    if not options.demographics:  # a different request: the paper's prompt alone
        blob += "|paper-prompt-only"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def decoded_frames(clip: dict[str, Any], k: int) -> list[np.ndarray]:
    """The default frame source: the clip's span decoded from its source video."""
    return frames_at_times(
        str(clip["source_path"]), sample_times(float(clip["start"]), float(clip["end"]), k)
    )


def _record(clip_id: str, key: str, status: str, **fields: Any) -> dict[str, Any]:
    rec = {"clip_id": clip_id, "key": key, "status": status, "reason": None, "error": None}
    rec.update(fields)
    return rec


def annotate_clip(
    clip: dict[str, Any],
    source: dict[str, Any],
    client: ChatClient,
    options: AnnotateOptions,
    key: str,
    frames_for: FrameSource = decoded_frames,
) -> dict[str, Any]:
    """One clip: frames, request, validation (re-asked with the error on an invalid reply) -> its record."""
    started = time.perf_counter()
    usage: dict[str, int] = {}
    retried: dict[str, int] = {}
    counts = {"requests": 0, "invalid_replies": 0}

    def finish(status: str, **fields: Any) -> dict[str, Any]:
        return _record(
            clip["clip_id"],
            key,
            status,
            usage=usage,
            retried=retried,
            seconds=round(time.perf_counter() - started, 3),
            time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **counts,
            **fields,
        )

    try:
        urls = [data_url(f, options.image) for f in frames_for(clip, options.frames)]
    except (DecodeError, OSError, ValueError) as exc:
        return finish("failed", reason="decode", error=str(exc))
    transcript = clip_transcript(source.get("subtitle_path"), float(clip["start"]), float(clip["end"]))
    messages = build_messages(urls, transcript, addendum=options.demographics)
    error = ""
    for _ in range(options.max_invalid + 1):
        try:
            reply = client.complete(messages)
        except RequestFailed as exc:
            counts["requests"] += exc.attempts
            return finish("failed", reason=exc.kind, error=str(exc))
        counts["requests"] += reply.attempts
        for kind, n in reply.failures.items():
            retried[kind] = retried.get(kind, 0) + n
        for name, n in reply.usage.items():
            usage[name] = usage.get(name, 0) + n
        try:
            structured, groups = validate_reply(reply.content, demographics=options.demographics)
        except InvalidReply as exc:
            counts["invalid_replies"] += 1
            error = str(exc)
            messages = [*messages, {"role": "assistant", "content": reply.content}, retry_message(error)]
            continue
        language, language_source = resolve_language(
            dict(source.get("metadata") or {}), transcript, groups.get("language")
        )
        annotation = {
            "age": groups.get("age_group", UNKNOWN),
            "gender": groups.get("gender", UNKNOWN),
            "ethnicity": groups.get("ethnicity", UNKNOWN),
            "language": language,
            "language_source": language_source,
            "model_language": groups.get("language"),
            "caption": structured["description_summary"],
            "structured": structured,
            "model": client.model,
            "served_model": reply.model,
            "endpoint": client.url,
            "prompt": f"talkvid-appendix-f{'+demographics' if options.demographics else ''}:{prompt_digest()}",
            "frames": options.frames,
            "frame_times": [round(t, 4) for t in sample_times(clip["start"], clip["end"], options.frames)],
        }
        return finish("ok", annotation=annotation)
    return finish("failed", reason="invalid_reply", error=error)


def annotate_run(
    run_dir: str | Path,
    client: ChatClient,
    options: AnnotateOptions,
    frames_for: FrameSource = decoded_frames,
    log: Callable[[str], None] = print,
) -> AnnotateSummary:
    """Annotates a run folder's clips (passing ones unless all_clips), skipping those already done
    (Note [Annotation journal]); writes annotations.jsonl, annotations_summary.json, and the annotation into
    talkvid.json's metadata when the run exported one. Raises EndpointFatal after recording the summary."""
    run_dir = Path(run_dir)
    run = read_run(run_dir)
    sources = {s["source_id"]: s for s in run.sources}
    clips = [c for c in run.clips if options.all_clips or c.get("passed")]
    key = cache_key(client.model, options)
    summary = AnnotateSummary(clips=len(clips))
    started = time.perf_counter()
    with AnnotationStore(run_dir) as store:
        todo = []
        for clip in clips:
            previous = store.latest.get(clip["clip_id"])
            if store.done(clip["clip_id"], key):
                summary.cached += 1
            elif previous is not None and previous.get("key") == key and not options.retry_failed:
                summary.skipped_failed += 1
            else:
                todo.append(clip)
        log(f"annotate: {len(todo)} of {len(clips)} clips to request ({summary.cached} cached)")
        with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="annotate") as pool:
            pending: set[Future[dict[str, Any]]] = {
                pool.submit(
                    annotate_clip, c, sources.get(c["source_id"], {}), client, options, key, frames_for
                )
                for c in todo
            }
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        rec = fut.result()  # EndpointFatal propagates from here
                        store.append(rec)  # committed before anything else happens (crash safety)
                        summary.add(rec)
            except EndpointFatal as exc:
                summary.stopped = str(exc)
                for fut in pending:
                    fut.cancel()
                for fut in pending:  # requests already in flight: keep what they paid for
                    if not fut.cancelled() and fut.exception() is None:
                        store.append(fut.result())
                        summary.add(fut.result())
        annotations = {
            cid: rec.get("annotation") for cid, rec in store.latest.items() if rec["status"] == "ok"
        }
    summary.cost = (
        summary.prompt_tokens * options.price_in / 1e6 + summary.completion_tokens * options.price_out / 1e6
    )
    summary.seconds = time.perf_counter() - started
    write_atomic(run_dir / SUMMARY, json.dumps(asdict(summary), indent=2).encode())
    _merge_into_talkvid_json(run_dir, annotations)
    if summary.stopped:
        raise EndpointFatal(summary.stopped)
    return summary


def _merge_into_talkvid_json(run_dir: Path, annotations: dict[str, Any]) -> None:
    """Adds `metadata.annotation` (without the structured reply, which stays in annotations.jsonl) to each
    exported clip of talkvid.json, when the run wrote one."""
    path = run_dir / "talkvid.json"
    if not path.is_file() or not annotations:
        return
    records = json.loads(path.read_text())
    for rec in records:
        ann = annotations.get(rec.get("id"))
        if ann:
            rec.setdefault("metadata", {})["annotation"] = {k: v for k, v in ann.items() if k != "structured"}
    write_atomic(path, json.dumps(records, indent=1, ensure_ascii=False).encode())
