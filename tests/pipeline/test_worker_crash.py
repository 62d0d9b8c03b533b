"""Note [Worker crashes] with real kills: a worker (pool process or Ray actor) that dies has its sources
retried, at most MAX_ATTEMPTS times, then recorded as `worker_crashed`; never lost, never written twice.

The tests SIGKILL real processes from a background thread: the pool's spawned workers (children of this
process) and the Ray actor processes of a private local Ray instance (descendants of this process whose
title is `ray::_ActorWorker...`). Nothing in the production code knows about the tests. Kills are tied to
events (a worker appearing, a source being committed), and every assertion holds wherever a kill lands.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from talkvid_fast.pipeline import RunConfig, run_sources
from talkvid_fast.pipeline._driver import MAX_ATTEMPTS, RunOutcome
from talkvid_fast.pipeline._ray import MAX_ATTEMPTS as RAY_MAX_ATTEMPTS
from talkvid_fast.profile import load_profile
from tests.media import scene_frames, write_video
from tests.pipeline.helpers import journal

N_SOURCES = 8
WORKERS = 2
RUN_TIMEOUT = 240.0  #: seconds; a run that takes longer counts as hung
# A pool worker is killed at least this long after it appears (still long before it has imported torch
# and can finish a source). Python 3.11's ProcessPoolExecutor spawns its workers lazily inside submit();
# a worker dying in the few milliseconds while submit() spawns its sibling races the executor's own
# clean-up (RuntimeError "dictionary changed size during iteration" in its manager thread), a CPython
# limitation no real crash comes near.
POOL_MIN_AGE = 0.5


# -- processes -------------------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line with spaces) of every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        table[int(entry)] = (ppid, cmd)
    return table


def pool_workers() -> list[int]:
    """Live spawned multiprocessing children of this process (the pool's workers, not the resource tracker)."""
    me = os.getpid()
    return sorted(pid for pid, (ppid, cmd) in _proc_table().items() if ppid == me and "spawn_main" in cmd)


def ray_actors() -> list[int]:
    """Live processes of this process's Ray instance that hold an `_ActorWorker` (idle, starting or busy)."""
    table = _proc_table()
    me = os.getpid()

    def ours(pid: int) -> bool:
        for _ in range(8):  # raylet -> worker: a short chain below this process
            pid = table.get(pid, (0, ""))[0]
            if pid == me:
                return True
            if pid <= 1:
                return False
        return False

    return sorted(pid for pid, (_, cmd) in table.items() if cmd.startswith("ray::_ActorWorker") and ours(pid))


class Killer(threading.Thread):
    """SIGKILLs processes found by `find`: after each `trigger`, one process not seen at an earlier kill
    (so each kill hits a new generation of workers), `times` times; or, with times=None, every process
    found, over and over, until stopped. A process is killed only once it is `min_age` seconds old."""

    def __init__(
        self,
        find: Callable[[], list[int]],
        trigger: threading.Event,
        times: int | None,
        min_age: float,
        rearm: bool = False,
    ) -> None:
        super().__init__(daemon=True)
        self.find, self.trigger, self.times, self.min_age = find, trigger, times, min_age
        self.rearm = (
            rearm  #: after a kill, the next one hits the next generation as soon as it is min_age old
        )
        self.stop = threading.Event()
        self.kills: list[int] = []
        self.commits = 0  #: sources committed so far (counted by `_run`)
        self.committed: list[str] = []  #: their ids, in commit order
        self.commits_at_kill: list[int] = []

    def run(self) -> None:
        seen: set[int] = set()  # every process alive at an earlier kill
        born: dict[int, float] = {}  # when each process was first seen
        while not self.stop.wait(0.02) and (self.times is None or len(self.kills) < self.times):
            now = time.monotonic()
            alive = self.find()
            old = [p for p in alive if now - born.setdefault(p, now) >= self.min_age and p not in self.kills]
            if not self.trigger.is_set():
                continue
            victims = old if self.times is None else [p for p in old if p not in seen][:1]
            if not victims:
                if self.times is not None and alive and set(alive) <= seen and not self.rearm:
                    self.trigger.clear()  # a commit from a broken pool: wait for the next generation's
                continue
            for pid in victims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                self.kills.append(pid)
                self.commits_at_kill.append(self.commits)
            if self.times is not None:
                seen.update(alive)
                if not self.rearm:
                    self.trigger.clear()


# -- runs ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """N_SOURCES copies of one two-scene video that takes a second or two to segment and export."""
    folder = tmp_path_factory.mktemp("crash_corpus")
    first = write_video(folder / "s0.mp4", scene_frames([250, 250], size=(96, 128)), fps=25)
    for i in range(1, N_SOURCES):
        shutil.copyfile(first, folder / f"s{i}.mp4")
    return [{"video-id": f"s{i}", "video-path": str(folder / f"s{i}.mp4")} for i in range(N_SOURCES)]


def _config(folder: Path) -> RunConfig:
    return RunConfig(profile=load_profile("official"), output=folder, stages=["segment", "export"])


def _run(config: RunConfig, inputs: list[dict[str, Any]], killer: Killer | None, **kw: Any) -> RunOutcome:
    """run_sources with `killer` armed; fails (instead of hanging) when the run does not end in time."""
    box: dict[str, Any] = {}
    trigger = killer.trigger if killer is not None else threading.Event()

    def on_commit(sid: str) -> None:
        if killer is not None:
            killer.commits += 1
            killer.committed.append(sid)
        trigger.set()

    def target() -> None:
        try:
            box["outcome"] = run_sources(config, inputs, progress=False, on_commit=on_commit, **kw)
        except BaseException as exc:  # re-raised in the test thread
            box["error"] = exc

    if killer is not None:
        killer.start()
    runner = threading.Thread(target=target, daemon=True)
    runner.start()
    runner.join(RUN_TIMEOUT)
    if killer is not None:
        killer.stop.set()
        killer.join(5)
    assert not runner.is_alive(), f"the run did not end within {RUN_TIMEOUT:.0f} s"
    if "error" in box:
        raise box["error"]
    return box["outcome"]


def _source_records(folder: Path) -> dict[str, dict[str, Any]]:
    records = journal(folder)
    keys = Counter((r["kind"], r.get("clip_id") or r["source_id"]) for r in records)
    assert [k for k, n in keys.items() if n > 1] == [], "a record was written twice"
    return {r["source_id"]: r for r in records if r["kind"] == "source"}


def _assert_all_done(folder: Path, inputs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sources = _source_records(folder)
    assert sorted(sources) == sorted(f["video-id"] for f in inputs), "a source was lost"
    return sources


def _assert_exported_once(folder: Path) -> None:
    """Every committed clip has its exported file; no other file, no temporary left by a killed attempt."""
    clips = [r for r in journal(folder) if r["kind"] == "clip"]
    assert clips and all(c["passed"] for c in clips)
    files = {str(p.relative_to(folder)) for p in (folder / "clips").rglob("*") if p.is_file()}
    wanted = {c["export"][k] for c in clips for k in ("video_path", "first_frame_path")}
    assert files == wanted


def _assert_crashed(rec: dict[str, Any], attempts: int, what: str) -> None:
    assert rec["status"] == "error" and rec["n_clips"] == 0
    assert [e["reason"] for e in rec["errors"]] == ["worker_crashed"]
    assert rec["errors"][0]["detail"] == f"a {what} died {attempts} times with this source in flight"


def _assert_resume_adds_nothing(folder: Path, inputs: list[dict[str, Any]], **kw: Any) -> None:
    """Note [Journal]: a committed source (ok or error) is done; a rerun skips it and writes nothing."""
    before = (folder / "journal.jsonl").read_bytes()
    again = _run(_config(folder), inputs, None, **kw)
    assert (again.processed, again.skipped) == (0, len(inputs))
    assert (folder / "journal.jsonl").read_bytes() == before


# -- the local process pool ------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["worker_start", "first_commit"])
def test_pool_one_kill_retries_the_sources_in_flight(
    sources: list[dict[str, Any]], tmp_path: Path, moment: str, caplog: pytest.LogCaptureFixture
) -> None:
    trigger = threading.Event()
    if moment == "worker_start":
        trigger.set()  # kill the first worker POOL_MIN_AGE after it appears (while it imports and loads)
    killer = Killer(pool_workers, trigger, times=1, min_age=POOL_MIN_AGE)
    with caplog.at_level(logging.WARNING, logger="talkvid_fast.pipeline._driver"):
        outcome = _run(_config(tmp_path), sources, killer, workers=WORKERS)
    assert len(killer.kills) == 1
    if moment == "worker_start":
        assert killer.commits_at_kill == [0], "the kill did not land while the workers started"
    else:
        assert 0 < killer.commits_at_kill[0] < N_SOURCES, "the kill did not land mid-run"
    assert any("a worker died" in r.getMessage() for r in caplog.records), "no retry happened"
    assert outcome.processed == N_SOURCES
    records = _assert_all_done(tmp_path, sources)
    assert {r["status"] for r in records.values()} == {"ok"}, "a source was not retried after one kill"
    assert all(r["n_clips"] == 2 for r in records.values())  # two scenes, both committed
    _assert_exported_once(tmp_path)
    assert pool_workers() == []
    _assert_resume_adds_nothing(tmp_path, sources, workers=WORKERS)


def test_pool_two_kills_charge_only_the_sources_in_flight(
    sources: list[dict[str, Any]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The first kill lands after a commit, while WORKERS sources are in flight; they are retried first, in
    a new pool, whose worker is killed POOL_MIN_AGE after it appears (long before it can finish a source).
    So exactly the sources in flight at the first kill are in flight at the second: they, and only they,
    end as `worker_crashed` (at least one, at most WORKERS, none committed before the first kill); every
    other source ends ok. (The driver used to submit the whole queue to the pool, so each crash charged
    every queued source: two kills recorded 6 of 8 as crashed. A driver that never gave up would record
    none.)"""
    trigger = threading.Event()
    killer = Killer(pool_workers, trigger, times=2, min_age=POOL_MIN_AGE, rearm=True)
    with caplog.at_level(logging.WARNING, logger="talkvid_fast.pipeline._driver"):
        _run(_config(tmp_path), sources, killer, workers=WORKERS)
    assert len(killer.kills) == 2 and killer.commits_at_kill[0] == killer.commits_at_kill[1] > 0
    assert sum("a worker died" in r.getMessage() for r in caplog.records) == 2  # two pools broke
    records = _assert_all_done(tmp_path, sources)
    crashed = {sid for sid, r in records.items() if r["status"] != "ok"}
    for sid in crashed:
        _assert_crashed(records[sid], MAX_ATTEMPTS, "worker process")
    before_first_kill = set(killer.committed[: killer.commits_at_kill[0]])
    assert 1 <= len(crashed) <= WORKERS, f"{len(crashed)} sources recorded as crashed"
    assert not crashed & before_first_kill, "a source committed before the kills was charged"
    assert all(records[sid]["n_clips"] == 2 for sid in set(records) - crashed)
    _assert_exported_once(tmp_path)
    _assert_resume_adds_nothing(tmp_path, sources, workers=WORKERS)


def test_pool_killed_every_time_records_every_source_as_crashed(
    sources: list[dict[str, Any]], tmp_path: Path
) -> None:
    trigger = threading.Event()
    trigger.set()
    killer = Killer(pool_workers, trigger, times=None, min_age=POOL_MIN_AGE)
    outcome = _run(_config(tmp_path), sources, killer, workers=WORKERS)
    assert len(killer.kills) >= MAX_ATTEMPTS  # at least one kill per pool
    assert outcome.processed == N_SOURCES
    records = _assert_all_done(tmp_path, sources)
    for rec in records.values():
        _assert_crashed(rec, MAX_ATTEMPTS, "worker process")
    assert [r for r in journal(tmp_path) if r["kind"] == "clip"] == []
    # committed, so a rerun does not redo them (Note [Journal]; Note [Worker crashes]: committed or retried)
    _assert_resume_adds_nothing(tmp_path, sources, workers=WORKERS)


# -- Ray actors ------------------------------------------------------------------------------------------


@pytest.mark.ray
def test_ray_one_kill_retries_the_source_in_flight(sources: list[dict[str, Any]], tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="needs Ray (pip install 'ray>=2.30')")
    inputs = sources[:6]
    # one actor killed right after the first commit, while the actors work on the next sources
    killer = Killer(ray_actors, threading.Event(), times=1, min_age=0.0)
    outcome = _run(_config(tmp_path), inputs, killer, workers=WORKERS, ray_address="local")
    assert len(killer.kills) == 1
    assert 0 < killer.commits_at_kill[0] < len(inputs), "the kill did not land mid-run"
    assert outcome.processed == len(inputs)
    records = _assert_all_done(tmp_path, inputs)
    assert {r["status"] for r in records.values()} == {"ok"}, "a source was not retried after one kill"
    assert all(r["n_clips"] == 2 for r in records.values())
    _assert_exported_once(tmp_path)
    _assert_resume_adds_nothing(tmp_path, inputs, workers=WORKERS, ray_address="local")


@pytest.mark.ray
def test_ray_killed_every_time_records_every_source_as_crashed(
    sources: list[dict[str, Any]], tmp_path: Path
) -> None:
    """One actor with 2 decode streams is handed both sources as one chunk, so each kill charges both: exactly
    RAY_MAX_ATTEMPTS kills end the run (an actor handed one source at a time needs twice as many)."""
    pytest.importorskip("ray", reason="needs Ray (pip install 'ray>=2.30')")
    inputs = sources[:2]  # every new actor imports torch: keep the rounds of kills few
    trigger = threading.Event()
    trigger.set()
    killer = Killer(ray_actors, trigger, times=None, min_age=0.0)
    config = dataclasses.replace(_config(tmp_path), decode_streams=2)
    outcome = _run(config, inputs, killer, workers=1, ray_address="local")
    assert len(killer.kills) == RAY_MAX_ATTEMPTS
    assert outcome.processed == len(inputs)
    records = _assert_all_done(tmp_path, inputs)
    for rec in records.values():
        _assert_crashed(rec, RAY_MAX_ATTEMPTS, "Ray actor")
    _assert_resume_adds_nothing(tmp_path, inputs, workers=WORKERS, ray_address="local")
