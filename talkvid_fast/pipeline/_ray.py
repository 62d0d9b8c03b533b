"""The same Worker as Ray actors, for runs across nodes (`--ray ADDRESS|auto|local`).

The driver keeps the journal and the commit logic of the local pool (Note [Journal], Note [Worker
crashes]): actors return records, the driver writes them. Each actor holds one GPU with `--gpus`
(Ray sets CUDA_VISIBLE_DEVICES, so the actor's device is cuda:0) or one CPU otherwise, and is handed a
chunk of as many sources as its Worker has decode streams, run overlapped by `process_many` (Note [Worker
dataflow]), as the local pool does: `--decode-streams N` gives N; by default a CPU actor takes 1, and a GPU
actor (whose NVDEC engine count only its own node knows) takes 1 in its first call, which returns its
count, and that many after. An actor that dies is replaced and every source of its chunk retried up to
MAX_ATTEMPTS, then recorded as `worker_crashed`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from ._config import RunConfig
from ._records import crashed_record
from ._worker import Records, Worker

MAX_ATTEMPTS = 2


class _ActorWorker:
    """The Ray actor: one Worker, models loaded once."""

    def __init__(self, config: RunConfig) -> None:
        self.worker = Worker(config)

    def process_many(self, chunk: list[dict[str, Any]]) -> tuple[list[Records], dict[str, str], int]:
        """The chunk's records, the stages that could not run, and this actor's decode streams."""
        return list(self.worker.process_many(chunk)), self.worker.unavailable, self.worker.streams


def run_ray(
    config: RunConfig,
    todo: list[dict[str, Any]],
    address: str,
    actors: int,
    gpus: bool,
    commit: Callable[[Records], None],
    bar: tqdm,
) -> dict[str, str]:
    """Runs `todo` on `actors` Ray actors; returns the stages that could not run (as the local pool does)."""
    if not todo:  # nothing to run: start no Ray instance and no actor
        return {}
    try:
        import ray
    except ImportError as exc:
        raise ValueError("--ray needs Ray: pip install 'ray>=2.30'") from exc
    started_here = not ray.is_initialized()
    if started_here:
        if address == "local":  # a private instance on this machine (tests, laptops)
            ray.init(num_cpus=max(actors, 1), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        if gpus:
            config = dataclasses.replace(config, device="cuda:0")
        remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1)(_ActorWorker)
        pending = list(todo)
        attempts: dict[str, int] = {}
        unavailable: dict[str, str] = {}
        inflight: dict[Any, tuple[Any, list[dict[str, Any]]]] = {}
        streams: dict[Any, int] = {}  # actor -> its decode streams, once its first chunk came back
        first = config.decode_streams or 1  # the actor's own default is known only to the actor

        def submit(actor: Any) -> None:
            if pending:
                chunk = pending[: streams.get(actor, first)]
                del pending[: len(chunk)]
                inflight[actor.process_many.remote(chunk)] = (actor, chunk)

        for _ in range(max(1, min(actors, len(pending)))):
            submit(remote.remote(config))
        while inflight:
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            actor, chunk = inflight.pop(ref)
            try:
                results, unavailable, streams[actor] = ray.get(ref)
            except ray.exceptions.RayActorError:
                streams.pop(actor, None)
                for fields in reversed(chunk):  # the whole chunk was in flight (Note [Worker crashes])
                    sid = str(fields["video-id"])
                    attempts[sid] = attempts.get(sid, 0) + 1
                    if attempts[sid] < MAX_ATTEMPTS:
                        pending.insert(0, fields)
                    else:
                        commit((crashed_record(fields, attempts[sid], "Ray actor"), []))
                        bar.update()
                if pending:  # a fresh actor in place of the dead one
                    submit(remote.remote(config))
                continue
            for records in results:
                commit(records)
                bar.update()
            submit(actor)
        return unavailable
    finally:
        if started_here:
            ray.shutdown()
