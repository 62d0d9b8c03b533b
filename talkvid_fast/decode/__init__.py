"""Decoding: one interface (Note [Decode passes]) with a CPU (PyAV) and, on GPUs, an NVDEC implementation."""

from __future__ import annotations

from ._api import DecodeError, FrameSink, ScanResult, VideoDecoder, VideoMetadata
from ._frames_at import frames_at_times
from ._pyav import PyAVDecoder, probe
from ._scene_buffer import FrameBudget, SceneBuffer
from ._views import gather_views, requested_frames, resize_rgb

__all__ = [
    "DecodeError",
    "FrameBudget",
    "FrameSink",
    "PyAVDecoder",
    "ScanResult",
    "SceneBuffer",
    "VideoDecoder",
    "VideoMetadata",
    "frames_at_times",
    "gather_views",
    "open_decoder",
    "probe",
    "requested_frames",
    "resize_rgb",
]

DECODERS = ("auto", "pyav", "nvdec")


def open_decoder(path: str, decoder: str = "auto", device: str = "cpu") -> VideoDecoder:
    """Opens `path`: `nvdec` on a CUDA device, `pyav` on the CPU; `auto` tries NVDEC on CUDA devices and falls
    back to PyAV when NVDEC cannot decode the source (the decoder's `name` says which ran)."""
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; allowed: {', '.join(DECODERS)}")
    if decoder == "nvdec" or (decoder == "auto" and device.startswith("cuda")):
        from ._nvdec import NvdecDecoder, NvdecUnsupported

        try:
            return NvdecDecoder(path, device)
        except NvdecUnsupported:
            if decoder == "nvdec":
                raise
    return PyAVDecoder(path)
