"""NVENC export through PyNvVideoCodec: device frames in, H.264 out, no host copy of the frames.

Only GPUs with NVENC take this path (`select_encoder`, Note [Export pool]); H100/H200/A100 have none. Each
RGB frame is widened to RGBA on the device (NVENC's "ABGR" is R, G, B, A in memory), encoded, and the
Annex B bitstream is muxed into MP4 with the clip's frame times by PyAV. Not yet run on a GPU with NVENC.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from ..clips import Clip

TIME_BASE = Fraction(1, 90_000)


def write_nvenc(
    frames: Iterator[tuple[int, torch.Tensor]],
    clip: Clip,
    size: tuple[int, int],
    path: Path,
    first_png: Path,
    device: torch.device,
) -> int:
    import PyNvVideoCodec as nvc

    h, w = size
    fps = clip.source.fps if clip.source.fps > 0 else 25.0
    enc = nvc.CreateEncoder(w, h, "ABGR", False, gpu_id=device.index or 0, codec="h264", fps=str(round(fps)))
    rgba = torch.full((h, w, 4), 255, dtype=torch.uint8, device=device)
    bitstream = io.BytesIO()
    n = 0
    for _, image in frames:
        rgba[..., :3].copy_(image[:h, :w])
        if n == 0:
            tmp_png = first_png.with_name(f".{first_png.stem}.tmp.png")
            cv2.imwrite(str(tmp_png), np.ascontiguousarray(image[:h, :w].cpu().numpy()[..., ::-1]))
            os.replace(tmp_png, first_png)
        bitstream.write(bytes(enc.Encode(rgba)))
        n += 1
    bitstream.write(bytes(enc.EndEncode()))
    _mux(bitstream.getvalue(), clip, path)
    return n


def _mux(annexb: bytes, clip: Clip, path: Path) -> None:
    """Annex B H.264 -> MP4 with the clip's frame times (the encoder's output is in presentation order)."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    src: Any = av.open(io.BytesIO(annexb), format="h264")
    with src, av.open(str(tmp), "w", format="mp4") as out:
        stream: Any = out.add_stream_from_template(src.streams.video[0])
        stream.time_base = TIME_BASE
        for k, packet in enumerate(p for p in src.demux(video=0) if p.size):
            t = int(round((clip.frame_times[min(k, clip.num_frames - 1)] - clip.frame_times[0]) / TIME_BASE))
            packet.pts = packet.dts = t
            packet.time_base = TIME_BASE
            packet.stream = stream
            out.mux(packet)
    os.replace(tmp, path)
