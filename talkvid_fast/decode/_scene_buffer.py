"""The per-stream buffer of decoded frames that lets every frame be decoded once (Note [Decode passes]).

Note [Scene buffer]: the filter stages' frame choices depend on the clip (its length, id, times: DOVER's
seeded offsets, the paper windows, the head samples), and a clip is known only when the scene detector
closes its scene, after its frames have gone by. So the scan hands every decoded frame, still in the
decoder's own layout (1.5 bytes a pixel: an `av.VideoFrame`, an NV12 device copy), to this buffer, which
keeps the frames of the scenes not yet resolved, oldest first, within the stream's byte budget:

- When a scene closes, the pipeline converts the frames its clip's stages asked for into their views and
  releases the scene's frames; what is left is the open scene (and, for stages whose requests read facts of
  the whole source, such as the `official` head and motion sampling's source fps, every kept scene until the
  scan ends).
- With media export, the frames of a clip that passed stage 1 stay until the clip is exported (`take`
  hands them to the encoder, one at a time) or a filter rejects it (`release`): export reads the same
  decode (Note [Export from the scan]).
- A frame that would take the stream over its budget first evicts the oldest frames, of this source or of
  an earlier source of the same stream still waiting for its export. A clip whose frames were evicted is not
  dropped: its requested frames are decoded again (`VideoDecoder.frames`, seeking), and its record says so
  (`decode.views = "redecoded"` or `export.frames_from = "redecoded"`, `reason = "scene_buffer_full"`); the
  source record carries this buffer's `stats()` (peak bytes, evicted frames).

Memory bound: `budget_bytes` per decode stream, shared by the buffers of every source of that stream still
holding frames (`FrameBudget`); frames handed to an export stay counted until the encoder has them, and
frames handed to a view conversion (`hold`) until converted, so the stream never holds more than its budget. `decode_streams * budget_bytes` per GPU or CPU worker. At 1080p a
frame is 3.1 MB and at 2160p 12.4 MB, so the default 4 GiB (CPU and GPU) holds 1380 frames of 1080p (55 s at
25 fps) or 345 of 2160p (13.8 s); a scene (or, with export, the passing clips of a source awaiting export)
longer than that is the stated exception above.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np
import torch

MIB = 1 << 20


class FrameBudget:
    """The byte budget of one decode stream, shared by the `SceneBuffer`s of its sources (oldest first)."""

    def __init__(self, budget_bytes: int) -> None:
        if budget_bytes < 0:
            raise ValueError(f"scene buffer budget must be >= 0 bytes, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self.bytes = 0
        self.peak_bytes = 0
        self.lock = threading.RLock()  # the decode, model and export threads all touch a stream's frames
        self.buffers: list[SceneBuffer] = []  #: open buffers, oldest source first

    def make_room(self, size: int) -> bool:
        """Evicts the oldest held frames (oldest source first) until `size` more bytes fit; False if they
        cannot (the rest is handed to an export and counted until the encoder has it)."""
        with self.lock:
            while self.bytes + size > self.budget_bytes:
                victim = next((b for b in self.buffers if len(b)), None)
                if victim is None:
                    return False
                victim.evict_oldest()
            return True

    def charge(self, size: int) -> None:
        with self.lock:
            self.bytes += size
            self.peak_bytes = max(self.peak_bytes, self.bytes)

    def discharge(self, size: int) -> None:
        with self.lock:
            self.bytes -= size


class SceneBuffer:
    """One source's decoded frames by index, oldest first, within its stream's budget (Note [Scene buffer]).

    `budget` is the stream's shared `FrameBudget`, or a byte count for a buffer with a budget of its own."""

    def __init__(self, budget: int | FrameBudget, size_of: Callable[[Any], int]) -> None:
        self.budget = budget if isinstance(budget, FrameBudget) else FrameBudget(budget)
        self.budget_bytes = self.budget.budget_bytes
        self._size_of = size_of
        self._frames: dict[int, tuple[Any, int]] = {}  # index -> (frame, bytes); insertion = index order
        self.bytes = 0
        self.peak_bytes = 0
        self.evicted_frames = 0  #: frames pushed out by the budget (their clips are re-decoded)
        self.largest_frame = 0
        self._lock = self.budget.lock
        self._holds: list[HeldFrames] = []  #: frames being converted beside the scan
        with self._lock:
            self.budget.buffers.append(self)

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, index: int, frame: Any) -> None:
        size = int(self._size_of(frame))
        with self._lock:
            self.largest_frame = max(self.largest_frame, size)
            if size > self.budget_bytes or not self.budget.make_room(size):
                self.evicted_frames += 1  # a zero or tiny budget: nothing is kept, every clip is re-decoded
                return
            self._frames[index] = (frame, size)
            self.bytes += size
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            self.budget.charge(size)

    def evict_oldest(self) -> None:
        with self._lock:
            oldest = next(iter(self._frames))
            self._drop(oldest)
            self.evicted_frames += 1

    def _drop(self, index: int) -> Any:
        frame, size = self._frames.pop(index)
        self.bytes -= size
        hold = next((h for h in self._holds if h.wants(index)), None)
        if hold is not None:  # still being converted: its bytes stay counted, now by the hold
            hold.adopted_bytes += size
        else:
            self.budget.discharge(size)
        return frame

    def _end_hold(self, held: HeldFrames) -> None:
        with self._lock:
            if held in self._holds:
                self._holds.remove(held)
                self.budget.discharge(held.adopted_bytes)
                held.adopted_bytes = 0

    def release(self, start: int, stop: int) -> None:
        """Drops the frames [start, stop) (resolved or not wanted; not counted as evictions)."""
        with self._lock:
            if stop - start < len(self._frames):
                doomed: Any = (i for i in range(start, stop) if i in self._frames)
            else:
                doomed = [i for i in self._frames if start <= i < stop]
            for i in list(doomed):
                self._drop(i)

    def retain(self, ranges: list[tuple[int, int]]) -> None:
        """Drops every frame outside the [start, stop) `ranges` (the clips waiting for their export)."""
        with self._lock:
            for i in list(self._frames):
                if not any(a <= i < b for a, b in ranges):
                    self._drop(i)

    def missing(self, indices: np.ndarray) -> int:
        """How many of the (absolute) frame `indices` are not held."""
        with self._lock:
            return sum(1 for i in np.unique(indices).tolist() if i not in self._frames)

    def frames(
        self, indices: np.ndarray, rgb: Callable[[Any], torch.Tensor]
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """(index, RGB view) for the sorted unique held `indices`, like `VideoDecoder.frames`."""
        for i in np.unique(np.asarray(indices, dtype=np.int64)).tolist():
            with self._lock:
                if i not in self._frames:
                    raise KeyError(f"frame {i} is not in the scene buffer")
                frame = self._frames[i][0]
            yield i, rgb(frame)

    def hold(self, indices: np.ndarray, rgb: Callable[[Any], torch.Tensor]) -> HeldFrames:
        """The frames `indices` (KeyError for one not held), handed to a view conversion on another thread
        (Note [Views beside the scan]). Each stays counted against the stream's budget once until
        `HeldFrames.release`: by the buffer while it keeps the frame, by the hold after the buffer drops it."""
        with self._lock:
            wanted = np.unique(np.asarray(indices, dtype=np.int64)).tolist()
            missing = [i for i in wanted if i not in self._frames]
            if missing:
                raise KeyError(f"frames {missing[:5]} are not in the scene buffer")
            held = HeldFrames({i: self._frames[i][0] for i in wanted}, self, rgb)
            self._holds.append(held)
        return held

    def take(
        self, start: int, stop: int, rgb: Callable[[Any], torch.Tensor]
    ) -> Generator[tuple[int, torch.Tensor]] | None:
        """The frames [start, stop) handed over for export, or None when any of them is missing (evicted).

        They leave the buffer at once (no later eviction can take them mid-clip) but stay counted against the
        stream's budget until the returned iterator has converted each one (Note [Scene buffer])."""
        with self._lock:
            if any(i not in self._frames for i in range(start, stop)):
                return None
            taken = []
            for i in range(start, stop):
                frame, size = self._frames.pop(i)
                self.bytes -= size
                taken.append((i, frame, size))
        return self._hand_over(taken, rgb)

    def _hand_over(
        self, taken: list[tuple[int, Any, int]], rgb: Callable[[Any], torch.Tensor]
    ) -> Generator[tuple[int, torch.Tensor]]:
        todo = deque(taken)
        held = sum(size for _, _, size in taken)
        try:
            while todo:
                i, frame, size = todo.popleft()
                try:
                    image = rgb(frame)
                    if isinstance(frame, torch.Tensor) and frame.is_cuda:
                        # made on the decode stream, read on this one: not reused before the read is done
                        frame.record_stream(torch.cuda.current_stream(frame.device))
                finally:
                    frame = None  # the buffer's reference goes with the conversion
                    held -= size
                    self.budget.discharge(size)
                yield i, image
        finally:  # an export that stopped early: what it did not convert is no longer held either
            self.budget.discharge(held)

    def clear(self) -> None:
        """Drops every frame; the buffer is done (no longer in its stream's eviction order)."""
        with self._lock:
            for i in list(self._frames):
                self._drop(i)
            if self in self.budget.buffers:
                self.budget.buffers.remove(self)

    def stats(self) -> dict[str, int]:
        return {
            "budget_bytes": self.budget_bytes,
            "peak_bytes": self.peak_bytes,
            "stream_peak_bytes": self.budget.peak_bytes,
            "evicted_frames": self.evicted_frames,
            "largest_frame_bytes": self.largest_frame,
        }


class HeldFrames:
    """Frames handed from the scan's buffer to a view conversion (`SceneBuffer.hold`)."""

    def __init__(
        self, frames: dict[int, Any], owner: SceneBuffer, rgb: Callable[[Any], torch.Tensor]
    ) -> None:
        self._frames, self._owner, self._rgb = frames, owner, rgb
        self.adopted_bytes = 0  #: bytes of held frames the buffer has dropped (counted here until release)

    def wants(self, index: int) -> bool:
        return index in self._frames

    def frames(self, indices: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
        """(index, RGB view) for the sorted unique `indices`, like `SceneBuffer.frames`."""
        for i in np.unique(np.asarray(indices, dtype=np.int64)).tolist():
            yield i, self._rgb(self._frames[i])

    def release(self) -> None:
        """The conversion is done: the frames are no longer held (idempotent)."""
        self._owner._end_hold(self)
        self._frames = {}
