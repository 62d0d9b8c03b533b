"""Stage 1's per-frame features computed where the frame was decoded; only they go to the host, in batches.

Note [Device scan]: scenedetect's HistogramDetector needs, per frame, the 256-bin luma histogram of the
downscaled frame (talkvid_fast/reference/scan_histogram.py). On the NVDEC path the `nv12_scan_histogram` op
computes it from the NV12 surface on the device (kernels/scan_histogram.cuh; the small frame is never
stored) into row `slot` of a (batch, 256) int32 device buffer. A full buffer is copied to pinned host memory
with `non_blocking=True` and an event recorded; the buffers alternate, and a buffer's counts are read on
the host (event wait, then normalisation and the detector's step) only when it is reused or the scan
ends, by which time its copy has long finished: no per-frame synchronisation, 1 KB per frame to the host
instead of a small BGR frame. The detector's decision code stays scenedetect's own (SceneCollector
`add_histogram` hands the feature to `HistogramDetector.process_frame`). The same object runs the C++ twin
on CPU tensors (tests, and the stand-in PyNvVideoCodec), where the "copy" is the buffer itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..native import native
from ..reference.scan_histogram import BINS, normalize

HistogramSink = Callable[[int, int, np.ndarray], None]  #: (index, number, float32 (256,) feature)


class ScanHistograms:
    """Feeds `sink` the normalised luma histogram of every frame `add`ed, in order, a batch at a time."""

    def __init__(
        self,
        device: torch.device,
        small: tuple[int, int],
        sink: HistogramSink,
        matrix: int = 601,
        full_range: bool = False,
        batch: int = 64,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.small, self.sink, self.matrix, self.full_range = small, sink, matrix, full_range
        self.device = device
        cuda = device.type == "cuda"
        self._dev = [torch.empty((batch, BINS), dtype=torch.int32, device=device) for _ in range(2)]
        self._host = [torch.empty((batch, BINS), dtype=torch.int32, pin_memory=cuda) for _ in range(2)]
        self._events: list[torch.cuda.Event | None] = [None, None]
        self._pending: list[list[tuple[int, int]]] = [[], []]  # (index, number) per filled row
        self._k = 0  # buffer being filled
        self.batches_to_host = 0  #: device -> host copies made (one per batch, not per frame)

    def add(self, y: torch.Tensor, uv: torch.Tensor, index: int, number: int) -> None:
        """y: uint8 (H, W); uv: uint8 (ceil(H/2), ceil(W/2), 2), on `device` (an NV12 surface's planes)."""
        k = self._k
        rows = self._pending[k]
        stream = torch.cuda.current_stream(self.device).cuda_stream if self.device.type == "cuda" else 0
        h, w = self.small
        native().nv12_scan_histogram(
            y, uv, self._dev[k], len(rows), h, w, self.matrix, self.full_range, stream
        )
        rows.append((index, number))
        if len(rows) == self._dev[k].shape[0]:
            self._ship(k)
            self._k = 1 - k
            self._drain(self._k)  # the other buffer's copy was enqueued a whole batch ago

    def finish(self) -> None:
        """Ships the partial batch and hands every remaining feature to the sink, in frame order."""
        k = self._k
        if self._pending[k]:
            self._ship(k)
        self._drain(1 - k)
        self._drain(k)

    def _ship(self, k: int) -> None:
        n = len(self._pending[k])
        if self.device.type == "cuda":
            self._host[k][:n].copy_(self._dev[k][:n], non_blocking=True)
            event = torch.cuda.Event()
            event.record(torch.cuda.current_stream(self.device))
            self._events[k] = event
        else:
            self._host[k][:n].copy_(self._dev[k][:n])
        self.batches_to_host += 1

    def _drain(self, k: int) -> None:
        rows = self._pending[k]
        if not rows:
            return
        event = self._events[k]
        if event is not None:
            event.synchronize()
            self._events[k] = None
        counts = self._host[k][: len(rows)].numpy()
        for (index, number), c in zip(rows, counts, strict=True):
            self.sink(index, number, normalize(c))
        self._pending[k] = []
