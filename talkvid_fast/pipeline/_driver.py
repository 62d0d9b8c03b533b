"""The driver: skips finished sources, feeds workers (longest first), commits each source's records.

Note [Worker crashes]: with `workers > 1` sources run in a process pool. If a worker process dies (a
segfault in a decoder, the OOM killer), every source in flight gets one more attempt in a new pool; a
source that was in flight at MAX_ATTEMPTS crashes is recorded with reason `worker_crashed`. Each worker is
handed one chunk of `decode_streams` sources at a time (one per decode stream, Note [Worker dataflow]; 1 on the
CPU by default), so at most `workers * decode_streams` sources are in flight and a crash charges an attempt only
to sources really in flight, never to the queue behind them. Nothing is lost: a source is either committed to
the journal or retried on the next run. A source recorded as crashed has its export folder removed: the files
its killed attempts left (clips, temporaries) belong to no record.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ..manifest import Journal, check_or_write_run_info, write_tables
from ._config import RunConfig
from ._records import crashed_record
from ._streams import decode_streams
from ._worker import Records, Worker, _safe

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2

_worker: Worker | None = None


def _init_worker(config: RunConfig, devices: Any) -> None:
    """Builds this process's Worker; with --gpus each process takes one device id from the shared queue."""
    global _worker
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if devices is not None:
        config = dataclasses.replace(config, device=devices.get())
    _worker = Worker(config)


def _run_chunk(chunk: list[dict[str, Any]]) -> tuple[list[Records], dict[str, str]]:
    """A chunk of sources through this process's Worker, overlapped over its decode streams."""
    assert _worker is not None
    return list(_worker.process_many(chunk)), _worker.unavailable


@dataclass
class RunOutcome:
    journal: Journal
    processed: int  #: sources processed by this run
    skipped: int  #: sources already in the journal
    dropped_bytes: int  #: torn bytes cut from the journal on resume
    unavailable: dict[str, str]  #: filter stages that could not run, with why
    wall_seconds: float
    processed_ids: list[str] = dataclasses.field(default_factory=list)  #: sources this run committed


def _size(fields: dict[str, Any]) -> int:
    try:
        return os.path.getsize(str(fields["video-path"]))
    except OSError:
        return 0


def run_sources(
    config: RunConfig,
    inputs: list[dict[str, Any]],
    workers: int = 1,
    devices: list[str] | None = None,
    ray_address: str | None = None,
    fresh: bool = False,
    progress: bool = True,
    on_commit: Callable[[str], None] | None = None,
) -> RunOutcome:
    started = time.perf_counter()
    config.segment.require_weights()  # stage 1 cannot be skipped: its weights missing stops the run here
    folder = config.output
    folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in ("journal.jsonl", "run.json"):
            (folder / name).unlink(missing_ok=True)
    check_or_write_run_info(folder, config.profile, config.stages, fresh)
    journal = Journal(folder)
    todo = sorted((f for f in inputs if not journal.done(str(f["video-id"]))), key=_size, reverse=True)
    skipped = len(inputs) - len(todo)
    unavailable: dict[str, str] = {}

    def commit(records: Records) -> None:
        src, clips = records
        if any(e.get("reason") == "worker_crashed" for e in src.get("errors", [])):
            # what the killed attempts exported (clips, temporaries) belongs to no record
            shutil.rmtree(folder / "clips" / _safe(str(src["source_id"])), ignore_errors=True)
        journal.append(src, clips)
        if on_commit is not None:
            on_commit(src["source_id"])

    bar = tqdm(total=len(todo), unit="source", disable=not progress, dynamic_ncols=True)
    with logging_redirect_tqdm():
        if ray_address:
            from ._ray import run_ray

            actors = len(devices) if devices else workers
            unavailable = run_ray(config, todo, ray_address, actors, bool(devices), commit, bar)
        elif devices:
            unavailable = _run_pool(config, todo, len(devices), commit, bar, devices)
        elif workers <= 1:
            worker = Worker(config)
            unavailable = worker.unavailable
            for records in worker.process_many(todo):  # committed as each source finishes
                bar.set_postfix_str(str(records[0]["source_id"])[:40])
                commit(records)
                bar.update()
        else:
            unavailable = _run_pool(config, todo, workers, commit, bar)
    bar.close()
    write_tables(journal, folder)
    return RunOutcome(
        journal,
        len(todo),
        skipped,
        journal.dropped_bytes,
        unavailable,
        time.perf_counter() - started,
        [str(f["video-id"]) for f in todo],
    )


def _run_pool(
    config: RunConfig,
    todo: list[dict[str, Any]],
    workers: int,
    commit: Callable[[Records], None],
    bar: tqdm,
    devices: list[str] | None = None,
) -> dict[str, str]:
    attempts: dict[str, int] = {}
    pending = list(todo)
    per_worker = decode_streams(config.decode_streams, devices[0] if devices else "cpu")
    unavailable: dict[str, str] = {}
    ctx = mp.get_context("spawn")  # torch and CUDA are not fork-safe
    while pending:
        queue = None
        if devices:  # one worker per GPU: each process takes one device id at start
            queue = ctx.Manager().Queue()
            for device in devices:
                queue.put(device)
        with cf.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(config, queue)
        ) as pool:
            # At most `workers` chunks are handed to the pool at a time: when the pool breaks, every
            # submitted future fails, and only sources really in flight may be charged an attempt.
            inflight: dict[cf.Future[tuple[list[Records], dict[str, str]]], list[dict[str, Any]]] = {}
            broken = False
            while inflight or (pending and not broken):
                while pending and not broken and len(inflight) < workers:
                    chunk = pending[:per_worker]
                    try:
                        inflight[pool.submit(_run_chunk, chunk)] = chunk
                    except Exception:
                        # BrokenProcessPool, or (a worker dying while submit spawns the next one) the
                        # spawn failing on the queues the broken pool has just closed
                        if not getattr(pool, "_broken", False):
                            raise
                        broken = True
                        break
                    del pending[: len(chunk)]
                done, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    chunk = inflight.pop(future)
                    try:
                        results, unavailable = future.result()
                    except BrokenProcessPool:
                        broken = True
                        for fields in reversed(chunk):
                            sid = str(fields["video-id"])
                            attempts[sid] = attempts.get(sid, 0) + 1
                            if attempts[sid] >= MAX_ATTEMPTS:
                                commit((crashed_record(fields, attempts[sid], "worker process"), []))
                                bar.update()
                            else:
                                pending.insert(0, fields)  # retried first, in a new pool
                        continue
                    for records in results:
                        commit(records)
                        bar.update()
        if pending:
            log.warning("a worker died; retrying in a new pool (%d sources left)", len(pending))
    return unavailable
