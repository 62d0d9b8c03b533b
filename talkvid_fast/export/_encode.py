"""Re-encoding exported clips without holding the GPU back (Note [Export pool]).

Note [Export pool]: x264 is CPU work; on the GPU path the decoded frames are device tensors. The caller's
thread only decodes a clip's frames and enqueues their device-to-host copies, `chunk` frames at a time, into
pinned host buffers (`non_blocking=True`, an event per chunk); a pool of encoder threads waits on each
chunk's event and feeds x264 (PyAV releases the GIL while libx264 encodes, and x264 runs its own threads).
The pinned buffers are a fixed set (`buffers` chunks), so export memory is bounded
(buffers x chunk x H x W x 3 bytes: 8 x 16 x 6.2 MB = 0.8 GB at 1080p) and a slow encoder slows the decode
instead of growing a queue. NVENC (`encoder = "nvenc"` or `"auto"` on a GPU that has it) encodes the device
frames through PyNvVideoCodec instead, with no host copy of the frames; H100/H200/A100 have no NVENC, and
`select_encoder` finds that out by opening an encoder once per device (`auto` then takes x264).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

ENCODERS = ("auto", "x264", "nvenc")
_nvenc_ok: dict[str, bool] = {}  # device -> whether an NVENC session opened there


def nvenc_available(device: torch.device) -> bool:
    """Whether PyNvVideoCodec imports and an H.264 NVENC session opens on `device` (cached per device)."""
    if device.type != "cuda":
        return False
    key = str(device)
    if key not in _nvenc_ok:
        try:
            import PyNvVideoCodec as nvc

            nvc.CreateEncoder(256, 256, "ABGR", False, gpu_id=device.index or 0, codec="h264")
            _nvenc_ok[key] = True
        except Exception:  # no module, no NVENC on this GPU (H100, H200, A100), no session left
            _nvenc_ok[key] = False
    return _nvenc_ok[key]


def select_encoder(encoder: str, device: torch.device) -> str:
    """`x264` or `nvenc` for `encoder` on `device`; asking for nvenc where it cannot run is an error."""
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; allowed: {', '.join(ENCODERS)}")
    if encoder == "x264":
        return "x264"
    if nvenc_available(device):
        return "nvenc"
    if encoder == "nvenc":
        raise ValueError(
            f"encoder 'nvenc' asked for, but {device} has no usable NVENC (PyNvVideoCodec missing, or a GPU "
            "without NVENC such as H100/H200/A100); allowed here: auto, x264"
        )
    return "x264"


@dataclass
class _Chunk:
    host: torch.Tensor  #: uint8 (chunk, H, W, 3), pinned when the frames come from a GPU
    count: int  #: rows filled
    event: torch.cuda.Event | None  #: the device-to-host copies into `host` are done when it has fired


class PinnedChunks:
    """A fixed set of host buffers of `chunk` frames of one size; `take` blocks while all are in use."""

    def __init__(self, buffers: int, chunk: int, shape: tuple[int, int], pinned: bool) -> None:
        self.chunk = chunk
        self._free: queue.Queue[torch.Tensor] = queue.Queue()
        for _ in range(buffers):
            self._free.put(torch.empty((chunk, *shape, 3), dtype=torch.uint8, pin_memory=pinned))

    def take(self) -> torch.Tensor:
        return self._free.get()

    def give(self, buffer: torch.Tensor) -> None:
        self._free.put(buffer)


def stage_chunks(
    frames: Iterator[tuple[int, torch.Tensor]], pool: PinnedChunks, crop: tuple[int, int]
) -> Iterator[_Chunk]:
    """Copies frames (uint8 (H, W, 3) on any device) into pinned chunks, asynchronously from a GPU; yields
    each chunk when full (and the last one), with the event its reader must wait on."""
    h, w = crop
    buf, n = pool.take(), 0
    for _, image in frames:
        buf[n].copy_(image[:h, :w], non_blocking=image.is_cuda)
        n += 1
        if n == pool.chunk:
            yield _Chunk(buf, n, _record(image))
            buf, n = pool.take(), 0
    if n:
        yield _Chunk(buf, n, _record(image))
    else:
        pool.give(buf)


def _record(image: torch.Tensor) -> torch.cuda.Event | None:
    if not image.is_cuda:
        return None
    event = torch.cuda.Event()
    event.record(torch.cuda.current_stream(image.device))
    return event


FrameWriter = Callable[[np.ndarray, int], None]  #: (RGB uint8 (H, W, 3), frame number in the clip)


class EncodePool:
    """Encoder threads fed chunk queues (Note [Export pool]); one job per clip, results as futures."""

    def __init__(self, workers: int = 2, buffers: int = 8, chunk: int = 16) -> None:
        if workers < 1 or buffers < 2 or chunk < 1:
            raise ValueError(
                f"need workers >= 1, buffers >= 2, chunk >= 1; got {workers}, {buffers}, {chunk}"
            )
        self.workers, self.buffers, self.chunk = workers, buffers, chunk
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="tvf-encode")
        self._pools: dict[tuple[int, int, bool], PinnedChunks] = {}
        self._lock = threading.Lock()

    def chunks_for(self, shape: tuple[int, int], pinned: bool) -> PinnedChunks:
        with self._lock:
            key = (*shape, pinned)
            if key not in self._pools:
                self._pools[key] = PinnedChunks(self.buffers, self.chunk, shape, pinned)
            return self._pools[key]

    def encode(
        self,
        frames: Iterator[tuple[int, torch.Tensor]],
        crop: tuple[int, int],
        pinned: bool,
        open_writer: Callable[[], tuple[FrameWriter, Callable[[], Any]]],
    ) -> Future[Any]:
        """Stages `frames` (in this thread: decode + async copies) and encodes them in the pool.

        open_writer() -> (write(rgb, n), close() -> result), called in the pool thread. Returns the future
        of close()'s result; the caller may go on decoding the next clip at once."""
        pool = self.chunks_for(crop, pinned)
        handoff: queue.Queue[_Chunk | None] = queue.Queue()
        future = self._executor.submit(self._consume, handoff, pool, open_writer)
        try:
            for chunk in stage_chunks(frames, pool, crop):
                handoff.put(chunk)
        finally:
            handoff.put(None)
        return future

    @staticmethod
    def _consume(
        handoff: queue.Queue[_Chunk | None],
        pool: PinnedChunks,
        open_writer: Callable[[], tuple[FrameWriter, Callable[[], Any]]],
    ) -> Any:
        write, close = open_writer()
        n = 0
        failed: BaseException | None = None
        while (item := handoff.get()) is not None:
            try:
                if failed is None:
                    if item.event is not None:
                        item.event.synchronize()
                    for row in item.host[: item.count].numpy():
                        write(row, n)
                        n += 1
            except BaseException as exc:  # keep draining so the producer never blocks on a full pool
                failed = exc
            finally:
                pool.give(item.host)
        if failed is not None:
            raise failed
        return close()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
