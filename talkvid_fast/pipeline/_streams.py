"""How many decode streams a worker runs, and each stream's scene-buffer budget (Note [Worker dataflow])."""

from __future__ import annotations

from ..decode._scene_buffer import MIB

# NVDEC engines per GPU (NVIDIA's Video Encode and Decode GPU Support Matrix); matched on the device name.
NVDEC_ENGINES: tuple[tuple[str, int], ...] = (
    ("H200", 7),
    ("H100", 7),
    ("H800", 7),
    ("GH200", 7),
    ("A100", 5),
    ("A800", 5),
    ("A30", 4),
    ("L40S", 3),
    ("L40", 3),
    ("L4", 4),
    ("A10", 2),
    ("T4", 2),
)
MAX_DECODE_STREAMS = 32
# Per stream: 1380 frames of 1080p (55 s at 25 fps), 345 of 2160p (13.8 s); 28 GiB for 7 GPU streams. The
# views made from them are small beside it (DOVER's technical view is fragment mosaics, 14 MB a clip).
CPU_BUFFER_MIB = 4096
GPU_BUFFER_MIB = 4096


def nvdec_engines(device_name: str) -> int:
    """NVDEC engines of a GPU by its name (1 when the name is not in the table)."""
    name = device_name.upper()
    for key, count in NVDEC_ENGINES:
        if key in name:
            return count
    return 1


def check_decode_streams(value: int) -> int:
    """Validates `--decode-streams` (0 = the device's default)."""
    if not 0 <= value <= MAX_DECODE_STREAMS:
        raise ValueError(
            f"--decode-streams must be 0 (default: 1 on the CPU, one per NVDEC engine on a GPU) "
            f"or 1..{MAX_DECODE_STREAMS}, got {value}"
        )
    return value


def decode_streams(requested: int, device: str) -> int:
    """Streams a worker on `device` runs: `requested`, or by default 1 on the CPU and the GPU's NVDEC count."""
    check_decode_streams(requested)
    if requested:
        return requested
    if not device.startswith("cuda"):
        return 1
    import torch

    return nvdec_engines(torch.cuda.get_device_name(torch.device(device)))


def buffer_bytes(requested_mib: int, device: str) -> int:
    """Scene-buffer budget of one stream (Note [Scene buffer]); `requested_mib` < 0 means the default."""
    if requested_mib < 0:
        requested_mib = GPU_BUFFER_MIB if device.startswith("cuda") else CPU_BUFFER_MIB
    return requested_mib * MIB
