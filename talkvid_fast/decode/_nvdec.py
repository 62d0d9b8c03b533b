"""GPU decoder on NVDEC (PyNvVideoCodec): frames stay in device memory from decode to the stages.

Note [NVDEC path]: PyNvVideoCodec's demuxer feeds NVDEC, which writes NV12 surfaces in device memory; each
surface is viewed as a torch tensor through DLPack (no copy) and converted by our `nv12_to_rgb` kernel,
resizing on the way, on torch's current stream. Only the small scene-detection frames (about 256 px wide)
go to the host, because scenedetect's detectors are CPU code. Geometry, rotation, colour matrix and the
pts time base come from the container (PyAV's probe). Codecs NVDEC on this GPU lacks raise
`NvdecUnsupported`, and `open_decoder` falls back to PyAV, recording which decoder ran on the source.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..native import yuv420_to_rgb
from ._api import DecodeError, FrameSink, ScanConsumer, ScanResult
from ._pyav import probe
from ._scan_convert import scan_size
from ._scan_features import ScanHistograms


class NvdecUnsupported(RuntimeError):
    """NVDEC cannot decode this source (codec, chroma format or bit depth); use the CPU decoder."""


def _nvc() -> Any:
    try:
        import PyNvVideoCodec as nvc
    except ImportError as exc:
        raise NvdecUnsupported(
            f"PyNvVideoCodec is not installed ({exc}); install it with `pip install PyNvVideoCodec`"
        ) from exc
    return nvc


class NvdecDecoder:
    """VideoDecoder on an NVIDIA GPU; yields CUDA uint8 RGB tensors (Note [NVDEC path])."""

    def __init__(self, path: str, device: str = "cuda") -> None:
        self.metadata = probe(path)
        self.device = torch.device(device)
        self.name = f"nvdec-{self.device}"
        self._path = path
        self._nvc = _nvc()
        if self.metadata.pix_fmt not in ("yuv420p", "yuvj420p", "nv12"):
            raise NvdecUnsupported(f"{path}: pixel format {self.metadata.pix_fmt} is not 8-bit 4:2:0")
        self._open()

    def _open(self) -> None:
        nvc = self._nvc
        try:
            self._demux = nvc.CreateDemuxer(filename=self._path)
            stream = torch.cuda.current_stream(self.device).cuda_stream if self.device.type == "cuda" else 0
            self._dec = nvc.CreateDecoder(
                gpuid=self.device.index or 0,
                codec=self._demux.GetNvCodecId(),
                cudacontext=0,
                cudastream=stream,
                usedevicememory=True,
            )
        except Exception as exc:  # PyNvVideoCodec raises its own exception types per failure
            raise NvdecUnsupported(f"{self._path}: NVDEC cannot open it ({exc})") from exc

    def _surfaces(self) -> Iterator[tuple[int, torch.Tensor]]:
        """(pts, NV12 surface (H * 3/2, W) uint8 on the device) in presentation order, from the start."""
        self._open()
        try:
            for packet in self._demux:
                for frame in self._dec.Decode(packet):
                    yield int(frame.getPTS()), torch.from_dlpack(frame)
        except NvdecUnsupported:
            raise
        except Exception as exc:
            raise DecodeError("corrupt", f"{self._path}: NVDEC decoding failed ({exc})") from exc

    def _planes(self, nv12: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """NV12 surface (H * 3/2, W) -> Y (H, W) and interleaved UV (ceil(H/2), ceil(W/2), 2) views."""
        h, w = self.metadata.coded_height, self.metadata.coded_width
        return nv12[:h], nv12[h : h + (h + 1) // 2].unflatten(1, (-1, 2))[:, : (w + 1) // 2]

    def _scan_features(self, consumer: ScanConsumer, small: tuple[int, int]) -> ScanHistograms | None:
        """Device-side histograms when the consumer takes them (SceneCollector's histogram detector)."""
        if not getattr(consumer, "takes_histograms", False):
            return None
        meta = self.metadata
        sink = consumer.add_histogram  # type: ignore[attr-defined]
        return ScanHistograms(self.device, small, sink, meta.color_matrix, meta.full_range)

    def _rgb(self, nv12: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
        """NV12 surface -> RGB (size or coded size), coded orientation."""
        y, uv = self._planes(nv12)
        return yuv420_to_rgb(
            y, uv=uv, size=size, matrix=self.metadata.color_matrix, full_range=self.metadata.full_range
        )

    def scan(
        self, small: tuple[int, int] | None, consumer: ScanConsumer, keep: FrameSink | None = None
    ) -> ScanResult:
        started = time.perf_counter()
        w, h = self.metadata.coded_width, self.metadata.coded_height
        size = scan_size(w, h, small)
        hw = (h, w) if size is None else (size[1], size[0])  # the kernel takes (height, width)
        rate = self.metadata.guessed_fps or 25.0
        tb = self.metadata.time_base or 1 / 90_000
        pts: list[int] = []
        features = self._scan_features(consumer, hw)
        for p, surface in self._surfaces():
            if keep is not None:  # NVDEC reuses its surfaces: the scene buffer keeps a device copy
                keep(len(pts), p * tb - self.metadata.start_time, surface.clone())
            if features is not None:  # Note [Device scan]: 1 KB per frame, to the host in batches
                features.add(*self._planes(surface), len(pts), round(p * tb * rate))
            else:
                bgr = self._rgb(surface, hw).flip(-1).cpu().numpy()  # a small frame: the one host copy
                consumer(len(pts), round(p * tb * rate), bgr)
            pts.append(p)
        if features is not None:
            features.finish()
        if not pts:
            raise DecodeError("corrupt", f"{self._path}: no frame could be decoded")
        order = np.argsort(np.asarray(pts), kind="stable")
        pts_arr = np.asarray(pts, dtype=np.int64)[order]
        # times count from the container's start, as PyAV's (Note [Decode passes])
        return ScanResult(
            times=pts_arr * tb - self.metadata.start_time,
            pts=pts_arr,
            decode_seconds=time.perf_counter() - started,
        )

    def rgb(self, frame: torch.Tensor) -> torch.Tensor:
        """An NV12 surface from `scan`'s sink -> RGB display orientation on the device."""
        rgb = self._rgb(frame, None)
        k = self.metadata.rotation // 90
        return torch.rot90(rgb, k=k, dims=(0, 1)).contiguous() if k else rgb

    def frame_bytes(self, frame: torch.Tensor) -> int:
        return frame.numel() * frame.element_size()

    def frames(self, indices: np.ndarray, pts: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
        # NVDEC decodes far faster than the stages consume; a linear pass avoids seek-accuracy pitfalls.
        wanted = set(np.unique(np.asarray(indices, dtype=np.int64)).tolist())
        last = max(wanted) if wanted else -1
        for p, surface in self._surfaces():
            index = int(np.searchsorted(pts, p))
            if index in wanted:
                yield index, self.rgb(surface)
                wanted.discard(index)
            if index >= last:
                break
        if wanted:
            raise DecodeError("corrupt", f"{self._path}: frames {sorted(wanted)[:5]} were not decoded")

    def close(self) -> None:
        self._demux = self._dec = None
