"""Note [Scene buffer]: one byte budget per decode stream, shared by the buffers of its sources; eviction takes
the oldest frames (oldest source first); frames handed to an export stay counted until converted."""

from __future__ import annotations

from typing import Any

import pytest

from talkvid_fast.decode import FrameBudget, SceneBuffer


def _rgb(frame: Any) -> Any:
    return ("rgb", frame)


def test_sources_of_a_stream_share_its_budget_oldest_evicted_first() -> None:
    budget = FrameBudget(10)
    a, b = SceneBuffer(budget, lambda f: 2), SceneBuffer(budget, lambda f: 2)
    for i in range(4):  # source a waits for its export with 8 bytes
        a.add(i, f"a{i}")
    for i in range(3):  # source b's scan needs 6: a's two oldest frames go
        b.add(i, f"b{i}")
    assert (budget.bytes, budget.peak_bytes) == (10, 10)
    assert [i in a for i in range(4)] == [False, False, True, True] and len(b) == 3
    assert (a.evicted_frames, b.evicted_frames) == (2, 0)
    assert a.take(1, 4, _rgb) is None  # a clip missing a frame is not handed over (it is re-decoded)
    a.clear()  # a is done: its frames go and it leaves the eviction order
    assert budget.bytes == 6 and budget.buffers == [b]


def test_frames_taken_for_export_count_until_converted() -> None:
    budget = FrameBudget(8)
    a, b = SceneBuffer(budget, lambda f: 2), SceneBuffer(budget, lambda f: 2)
    for i in range(4):
        a.add(i, i)
    taken = a.take(0, 4, _rgb)
    assert taken is not None and len(a) == 0 and budget.bytes == 8
    b.add(0, "b0")  # nothing evictable: the new frame is not kept (its clip will be re-decoded)
    assert 0 not in b and b.evicted_frames == 1 and budget.bytes == 8
    assert next(taken) == (0, ("rgb", 0)) and budget.bytes == 6  # one converted: its bytes are free
    b.add(0, "b0")
    assert 0 in b and budget.bytes == 8
    taken.close()  # an export that stopped early frees the rest
    assert budget.bytes == 2 and budget.peak_bytes == 8


def test_release_and_retain_are_not_evictions() -> None:
    buf = SceneBuffer(100, lambda f: 1)
    for i in range(10):
        buf.add(i, i)
    buf.release(0, 3)
    buf.retain([(4, 6), (8, 20)])
    assert [i for i in range(10) if i in buf] == [4, 5, 8, 9] and buf.evicted_frames == 0
    assert buf.budget.bytes == 4
    with pytest.raises(ValueError, match=">= 0 bytes"):
        SceneBuffer(-1, lambda f: 1)


def test_frames_held_for_a_view_conversion_count_until_released() -> None:
    """Note [Views beside the scan]: the frames handed to the views thread are counted against the stream's
    budget once, by the buffer while it keeps them and by the hold after it drops them, until released."""
    import numpy as np

    budget = FrameBudget(8)
    buf = SceneBuffer(budget, lambda f: 2)
    for i in range(3):
        buf.add(i, f"f{i}")
    with pytest.raises(KeyError, match="not in the scene buffer"):
        buf.hold(np.array([1, 7]), _rgb)
    assert budget.bytes == 6  # a refused hold counts nothing
    held = buf.hold(np.array([2, 0, 2]), _rgb)
    assert budget.bytes == 6  # counted once: by the buffer while it keeps the frames
    buf.release(0, 3)  # the scene is resolved: the buffer lets go of its frames
    assert len(buf) == 0 and budget.bytes == 4  # frames 0 and 2 are still being converted
    for i in (3, 4, 5):
        buf.add(i, f"f{i}")
    # the held bytes keep the stream within its budget: room for two buffered frames, not four
    assert [i in buf for i in (3, 4, 5)] == [False, True, True] and buf.evicted_frames == 1
    assert budget.bytes == 8
    assert list(held.frames(np.array([2, 0]))) == [(0, ("rgb", "f0")), (2, ("rgb", "f2"))]
    held.release()
    held.release()  # idempotent: a second release frees nothing more
    assert budget.bytes == 4
