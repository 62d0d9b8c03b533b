"""The same Worker as Ray actors, for runs across nodes (`--ray ADDRESS|auto|local`).

The driver keeps the journal and the commit logic of the local pool (Note [Journal], Note [Worker
crashes]): actors return records, the driver writes them. Each actor holds one GPU with `--gpus`
(Ray sets CUDA_VISIBLE_DEVICES, so the actor's device is cuda:0) or one CPU otherwise. An actor that
dies is replaced and its source retried up to MAX_ATTEMPTS, then recorded as `worker_crashed`.
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

    def process(self, fields: dict[str, Any]) -> tuple[Records, dict[str, str]]:
        return self.worker.process(fields), self.worker.unavailable


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
        inflight: dict[Any, tuple[Any, dict[str, Any]]] = {}

        def submit(actor: Any) -> None:
            if pending:
                fields = pending.pop(0)
                inflight[actor.process.remote(fields)] = (actor, fields)

        for _ in range(max(1, min(actors, len(pending)))):
            submit(remote.remote(config))
        while inflight:
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            actor, fields = inflight.pop(ref)
            try:
                records, unavailable = ray.get(ref)
            except ray.exceptions.RayActorError:
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
            commit(records)
            bar.update()
            submit(actor)
        return unavailable
    finally:
        if started_here:
            ray.shutdown()
