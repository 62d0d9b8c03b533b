"""A run killed with SIGKILL mid-way and resumed equals an uninterrupted run: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.media import scene_frames, write_video
from tests.pipeline.helpers import REPO, comparable, journal, run_cli


def _corpus(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        write_video(
            folder / f"src{i:02d}.mp4", scene_frames([70, 60][: 1 + i % 2], size=(48, 64), seed=i), fps=10
        )


def _without_export(records: list[dict]) -> dict:
    return {k: {f: v for f, v in r.items() if f != "export"} for k, r in comparable(records).items()}


def test_kill_and_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _corpus(corpus, 10)
    args = ["--input", str(corpus), "--profile", "official", "--stages", "segment,export", "--no-progress"]

    full = tmp_path / "full"
    assert run_cli(*args, "--output", str(full)).returncode == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "talkvid_fast.run", *args, "--output", str(killed)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    journal_file = killed / "journal.jsonl"
    while time.time() < deadline:  # kill as soon as some but not all sources are committed
        if journal_file.exists() and journal_file.read_text().count('"kind": "source"') >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = journal_file.read_text().count('"kind": "source"')
    assert 3 <= committed < 10, "the kill must land mid-run"

    resumed = run_cli(*args, "--output", str(killed))
    assert resumed.returncode == 0
    assert f"{10 - committed} processed, {committed} already done" in resumed.stdout

    records = journal(killed)
    ids = [(r["kind"], r.get("clip_id") or r["source_id"]) for r in records]
    assert len(ids) == len(set(ids)), "a record was written twice"
    assert _without_export(records) == _without_export(journal(full))
    exported = sorted(p.name for p in (killed / "clips").rglob("*.mp4"))
    assert exported == sorted(p.name for p in (full / "clips").rglob("*.mp4"))
    assert not list((killed / "clips").rglob(".*tmp*")), "a temporary file was left behind"
