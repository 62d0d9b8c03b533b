"""Note [Journal]: torn writes are cut, batches are all-or-nothing, nothing is duplicated."""

from __future__ import annotations

import json
from pathlib import Path

from talkvid_fast.manifest import Journal, write_tables


def _batch(sid: str, n: int) -> tuple[dict, list[dict]]:
    return {"source_id": sid, "status": "ok"}, [
        {"clip_id": f"{sid}-scene{i}", "score": i / 10} for i in range(1, n + 1)
    ]


def test_batches_survive_reopen(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.append(*_batch("a", 2))
    j.append(*_batch("b", 0))
    j.close()
    k = Journal(tmp_path)
    assert set(k.sources) == {"a", "b"} and [c["clip_id"] for c in k.clips["a"]] == ["a-scene1", "a-scene2"]
    k.append(*_batch("a", 5))  # already committed: ignored
    assert len(k.clips["a"]) == 2


def test_torn_tail_is_dropped_and_cut_before_appending(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.append(*_batch("a", 1))
    j.close()
    good = (tmp_path / "journal.jsonl").read_bytes()
    with (tmp_path / "journal.jsonl").open("ab") as f:  # a kill -9 in the middle of b's batch
        f.write(json.dumps({"kind": "clip", "source_id": "b", "clip_id": "b-scene1"}).encode() + b"\n")
        f.write(b'{"kind": "clip", "source_id": "b", "cli')
    k = Journal(tmp_path)
    assert set(k.sources) == {"a"} and k.dropped_bytes > 0
    assert (tmp_path / "journal.jsonl").read_bytes() == good
    k.append(*_batch("b", 1))
    k.close()
    m = Journal(tmp_path)
    assert set(m.sources) == {"a", "b"} and len(m.clips["b"]) == 1


def test_batch_missing_clips_is_not_committed(tmp_path: Path) -> None:
    lines = [
        {"kind": "clip", "source_id": "a", "clip_id": "a-scene1"},
        {"kind": "source", "source_id": "a", "n_clips": 2},
    ]
    (tmp_path / "journal.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert Journal(tmp_path).sources == {}


def test_parquet_tables_flatten_records(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    j = Journal(tmp_path)
    j.append(
        {"source_id": "a", "status": "ok", "probe": {"fps": 25.0}},
        [{"clip_id": "a-scene1", "stages": {"q": {"x": 1.5}}}],
    )
    j.append({"source_id": "b", "status": "error", "errors": [{"reason": "empty_file"}]}, [])
    sources, clips = write_tables(j, tmp_path)
    s = pq.read_table(sources).to_pylist()
    c = pq.read_table(clips).to_pylist()
    assert {r["source_id"] for r in s} == {"a", "b"} and s[0]["probe.fps"] == 25.0
    assert c[0]["stages.q.x"] == 1.5
