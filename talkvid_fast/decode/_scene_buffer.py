"""The per-stream buffer of decoded frames that lets every frame be decoded once (Note [Decode passes]).

Note [Scene buffer]: the filter stages' frame choices depend on the clip (its length, id, times: DOVER's
seeded offsets, the paper windows, the head samples), and a clip is known only when the scene detector
closes its scene, after its frames have gone by. So the scan hands every decoded frame, still in the
decoder's own layout (1.5 bytes a pixel: an `av.VideoFrame`, an NV12 device copy), to this buffer, which
keeps the frames of the scenes not yet resolved, oldest first, within `budget_bytes`:

- When a scene closes, the pipeline converts the frames its clip's stages asked for into their views and
  releases the scene's frames; what is left is the open scene (and, for stages whose requests read facts of
  the whole source, such as the `official` head and motion sampling's source fps, every kept scene until the
  scan ends).
- A frame that would take the buffer over its budget first evicts the oldest frames. A clip whose frames
  were evicted is not dropped: its requested frames are decoded again (`VideoDecoder.frames`, seeking), and
  the clip record says so (`decode.views = "redecoded"`, `reason = "scene_buffer_full"`); the source record
  carries this buffer's `stats()` (peak bytes, evicted frames).

Memory bound: `budget_bytes` per decode stream (at most one frame over while it is evicting: never more
than the budget is held), so `decode_streams * budget_bytes` per GPU or CPU worker. At 1080p a frame is
3.1 MB and at 2160p 12.4 MB, so the default 4 GiB (CPU and GPU) holds 1380 frames of 1080p (55 s at 25 fps)
or 345 of 2160p (13.8 s); a scene longer than that is the stated exception above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

MIB = 1 << 20


class SceneBuffer:
    """Decoded frames by index, oldest first, within a byte budget (Note [Scene buffer])."""

    def __init__(self, budget_bytes: int, size_of: Callable[[Any], int]) -> None:
        if budget_bytes < 0:
            raise ValueError(f"scene buffer budget must be >= 0 bytes, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self._size_of = size_of
        self._frames: dict[int, tuple[Any, int]] = {}  # index -> (frame, bytes); insertion = index order
        self.bytes = 0
        self.peak_bytes = 0
        self.evicted_frames = 0  #: frames pushed out by the budget (their clips are re-decoded)
        self.largest_frame = 0

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, index: int, frame: Any) -> None:
        size = int(self._size_of(frame))
        self.largest_frame = max(self.largest_frame, size)
        while self._frames and self.bytes + size > self.budget_bytes:
            oldest = next(iter(self._frames))
            self.bytes -= self._frames.pop(oldest)[1]
            self.evicted_frames += 1
        if size > self.budget_bytes:  # a zero or tiny budget: nothing is kept, every clip is re-decoded
            self.evicted_frames += 1
            return
        self._frames[index] = (frame, size)
        self.bytes += size
        self.peak_bytes = max(self.peak_bytes, self.bytes)

    def release(self, start: int, stop: int) -> None:
        """Drops the frames [start, stop) (resolved or not wanted; not counted as evictions)."""
        if stop - start < len(self._frames):
            doomed: Any = (i for i in range(start, stop) if i in self._frames)
        else:
            doomed = [i for i in self._frames if start <= i < stop]
        for i in list(doomed):
            self.bytes -= self._frames.pop(i)[1]

    def missing(self, indices: np.ndarray) -> int:
        """How many of the (absolute) frame `indices` are not held."""
        return sum(1 for i in np.unique(indices).tolist() if i not in self._frames)

    def frames(
        self, indices: np.ndarray, rgb: Callable[[Any], torch.Tensor]
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """(index, RGB view) for the sorted unique held `indices`, like `VideoDecoder.frames`."""
        for i in np.unique(np.asarray(indices, dtype=np.int64)).tolist():
            if i not in self._frames:
                raise KeyError(f"frame {i} is not in the scene buffer")
            yield i, rgb(self._frames[i][0])

    def clear(self) -> None:
        self._frames.clear()
        self.bytes = 0

    def stats(self) -> dict[str, int]:
        return {
            "budget_bytes": self.budget_bytes,
            "peak_bytes": self.peak_bytes,
            "evicted_frames": self.evicted_frames,
            "largest_frame_bytes": self.largest_frame,
        }
