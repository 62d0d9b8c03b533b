"""Decoding: one interface (Note [Decode passes]) with a CPU (PyAV) and, on GPUs, an NVDEC implementation."""

from __future__ import annotations

from ._api import DecodeError, ScanResult, VideoDecoder, VideoMetadata
from ._pyav import PyAVDecoder, probe
from ._views import gather_views, resize_rgb

__all__ = [
    "DecodeError",
    "PyAVDecoder",
    "ScanResult",
    "VideoDecoder",
    "VideoMetadata",
    "gather_views",
    "open_decoder",
    "probe",
    "resize_rgb",
]

DECODERS = ("auto", "pyav", "nvdec")


def open_decoder(path: str, decoder: str = "auto", device: str = "cpu") -> VideoDecoder:
    """Opens `path` with the named decoder; `auto` picks NVDEC on CUDA devices when available, else PyAV."""
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; allowed: {', '.join(DECODERS)}")
    if decoder == "nvdec" or (decoder == "auto" and device.startswith("cuda")):
        try:
            from ._nvdec import NvdecDecoder
        except ImportError as exc:
            if decoder == "nvdec":
                raise ValueError(f"decoder 'nvdec' needs PyNvVideoCodec and a CUDA GPU ({exc})") from exc
        else:
            return NvdecDecoder(path, device)
    return PyAVDecoder(path)
