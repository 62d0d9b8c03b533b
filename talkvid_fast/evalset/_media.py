"""The files of one bench clip: 25 fps frames of the span, the 512² face crop, 16 kHz audio, PNG, MP4.

Note [Bench crop]: as TalkVid's `face_crop.py` (reference/official-pipeline.md §1.2): the union of the face
boxes over the span, a square of 1.6 × its longer side, centred on it, resized to 512². Differences, chosen
for a fixed, reproducible crop: boxes from our face mesh detector (BlazeFace, `talkvid_fast.head`) on every
5th frame of the span (5 Hz) instead of InsightFace on every frame; the square is cut by the project's warp
op (Note [Face warp], bilinear) and parts outside the frame are black, where the official code slices the
frame (clipped at its edges) and resizes with nearest neighbour. The frames are taken at 25 fps (the frame
on screen at each `start + k / 25`, VFR-exact), the rate SyncNet's protocol expects.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from ..decode import DecodeError, frames_at_times
from ..head.crop import BORDER_ZERO, Roi, warp

FPS = 25
SIZE = 512
CROP_SCALE = 1.6
DETECT_EVERY = 5
SAMPLE_RATE = 16_000


def read_frames_at(path: str, start: float, count: int, fps: int = FPS) -> np.ndarray:
    """(count, H, W, 3) uint8 RGB: the frame shown at each `start + k / fps` (seconds from the stream start)."""
    times = [float(t) for t in start + np.arange(count) / fps]
    try:
        return np.stack(frames_at_times(path, times))
    except DecodeError as exc:
        raise ValueError(f"{path}: cannot read {count} frames from {start:.3f} s ({exc})") from exc


def face_box(frames: np.ndarray, backend: Any) -> np.ndarray | None:
    """Union (xmin, ymin, xmax, ymax) of the first face's box in every DETECT_EVERY-th frame, or None."""
    sample = torch.from_numpy(np.ascontiguousarray(frames[::DETECT_EVERY]))
    faces = backend.analyze([sample])[0]
    boxes = np.array([f.box[0] for f in faces if f.count >= 1], np.float64).reshape(-1, 4)
    if not len(boxes):
        return None
    return np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])


def crop_roi(box: np.ndarray) -> Roi:
    side = CROP_SCALE * max(box[2] - box[0], box[3] - box[1])
    return Roi(float((box[0] + box[2]) / 2), float((box[1] + box[3]) / 2), float(side), 0.0)


def crop_frames(frames: np.ndarray, roi: Roi, size: int = SIZE, chunk: int = 16) -> np.ndarray:
    """(T, size, size, 3) uint8: the square `roi` of every frame (Note [Bench crop])."""
    images = torch.from_numpy(np.ascontiguousarray(frames))
    out = np.empty((len(frames), size, size, 3), np.uint8)
    for a in range(0, len(frames), chunk):
        idx = torch.arange(a, min(a + chunk, len(frames)))
        mats = torch.from_numpy(np.repeat(roi.matrix(size)[None], len(idx), 0)).float()
        got = warp(images, idx, mats, size, size, 1.0, 0.0, BORDER_ZERO)
        out[a : a + len(idx)] = got.round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{path.suffix}")


def write_mp4(frames: np.ndarray, path: Path, audio: np.ndarray | None = None, crf: int = 18) -> None:
    """H.264 (yuv420p) at 25 fps, with AAC 16 kHz mono when `audio` (int16) is given; atomic rename."""
    tmp = _tmp(path)
    with av.open(str(tmp), mode="w", format="mp4") as out:
        stream: Any = out.add_stream("libx264", rate=FPS)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        astream: Any = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio is not None else None
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if astream is not None and audio is not None:
            for k in range(0, len(audio), 1024):
                block = av.AudioFrame.from_ndarray(
                    audio[k : k + 1024].astype(np.int16)[None], format="s16", layout="mono"
                )
                block.sample_rate, block.pts = SAMPLE_RATE, k
                for packet in astream.encode(block):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    os.replace(tmp, path)


def write_png(image: np.ndarray, path: Path) -> None:
    tmp = _tmp(path)
    if not cv2.imwrite(str(tmp), np.ascontiguousarray(image[..., ::-1])):
        raise OSError(f"cannot write {path}")
    os.replace(tmp, path)


def read_video(path: str | Path) -> tuple[np.ndarray, float]:
    """All frames (T, H, W, 3) uint8 RGB of a video and its average frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    if not frames:
        raise ValueError(f"{path}: no video frame decodes")
    return np.stack(frames), rate
