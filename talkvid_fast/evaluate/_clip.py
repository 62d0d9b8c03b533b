"""One generated clip against its ground truth: the per-clip metrics and the features FID/FVD pool.

Note [Evaluator inputs]: the generated video and the bench's ground truth are both decoded in full (RGB,
512², 25 fps). FID features: every frame through Inception-v3 pool3 (preprocessing inside
`talkvid_fast.evalnets`: [0, 1], bilinear resize to 299, 2x − 1, pytorch-fid's). FVD features: the clip's
non-overlapping 16-frame windows (frames 0–15, 16–31, …; a last partial window is dropped) through I3D
(evalnets: short side 224 bilinear, centre crop, [−1, 1], StyleGAN-V's). SyncNet: every frame resized to
224² (bilinear) — the bench frame is already a face-centred square, so no second face detection — with the
generated video's own audio (int16, 16 kHz mono), or the bench's WAV with `--audio-from-bench`. PSNR, SSIM,
LMD and LPIPS compare frame t with frame t on every `frame_stride`-th frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..evalset._media import read_video
from ..segment import NoAudio, load_audio_16k
from ..segment import read_wav_16k as read_wav
from . import frame_metrics
from ._networks import Networks, as_numpy
from .frechet import frechet_of_features
from .sync import sync_scores, sync_windows

FVD_WINDOW = 16
SYNC_SIZE = 224


@dataclass
class ClipResult:
    values: dict[str, Any] = field(default_factory=dict)  #: metric -> value (None: could not be computed)
    fid: tuple[np.ndarray, np.ndarray] | None = None  #: (generated, ground truth) Inception features
    fvd: tuple[np.ndarray, np.ndarray] | None = None  #: (generated, ground truth) I3D features
    notes: list[str] = field(default_factory=list)


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR) for f in frames])


def fvd_windows(frames: np.ndarray) -> np.ndarray:
    """(B, 16, H, W, 3): the non-overlapping 16-frame windows."""
    b = len(frames) // FVD_WINDOW
    return frames[: b * FVD_WINDOW].reshape(b, FVD_WINDOW, *frames.shape[1:])


def landmarks(facemesh: Any, frames: np.ndarray) -> np.ndarray:
    """(T, 468, 2) of the first face per frame, NaN where none is found."""
    faces = facemesh.analyze([torch.from_numpy(np.ascontiguousarray(frames))])[0]
    out = np.full((len(frames), 468, 2), np.nan)
    for t, f in enumerate(faces):
        if f.count:
            out[t] = f.landmarks[0, :, :2]
    return out


def _safe_frechet(gen: np.ndarray, ref: np.ndarray) -> float | None:
    return frechet_of_features(gen, ref) if len(gen) >= 2 and len(ref) >= 2 else None


def evaluate_clip(
    bench_dir: Path,
    clip: dict[str, Any],
    generated: Path,
    nets: Networks,
    metrics: set[str],
    size: int,
    frame_stride: int = 1,
    audio_from_bench: bool = False,
) -> ClipResult:
    res = ClipResult()
    gen, _ = read_video(generated)
    if gen.shape[1:3] != (size, size):
        res.notes.append(f"resized from {gen.shape[2]}x{gen.shape[1]}")
    gen = _resize(gen, size)
    ref, _ = read_video(bench_dir / clip["files"]["video"])
    n = min(len(gen), len(ref))
    gen, ref = gen[:n], ref[:n]
    g_s, r_s = gen[::frame_stride], ref[::frame_stride]
    if "psnr" in metrics:
        res.values["psnr"] = float(frame_metrics.psnr(g_s, r_s).mean())
    if "ssim" in metrics:
        res.values["ssim"] = float(frame_metrics.ssim(g_s, r_s).mean())
    if "lmd" in metrics and nets.facemesh is not None:
        key = (str(bench_dir), str(clip["id"]), frame_stride)
        if key not in nets.reference_landmarks:
            nets.reference_landmarks[key] = landmarks(nets.facemesh, r_s)
        m, f, used = frame_metrics.landmark_distance(
            landmarks(nets.facemesh, g_s), nets.reference_landmarks[key]
        )
        res.values.update(m_lmd=m, f_lmd=f, lmd_frames=used)
    if "lpips" in metrics and nets.lpips is not None:

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1.0

        res.values["lpips"] = float(as_numpy(nets.lpips(t(g_s), t(r_s))).mean())
    if "fid" in metrics and nets.inception is not None:
        fg, fr = (
            as_numpy(nets.inception(torch.from_numpy(gen))),
            as_numpy(nets.inception(torch.from_numpy(ref))),
        )
        res.fid = (fg, fr)
        res.values["fid"] = _safe_frechet(fg, fr)
    if "fvd" in metrics and nets.i3d is not None:
        wg, wr = fvd_windows(gen), fvd_windows(ref)
        if len(wg):
            fg, fr = as_numpy(nets.i3d(torch.from_numpy(wg))), as_numpy(nets.i3d(torch.from_numpy(wr)))
            res.fvd = (fg, fr)
            res.values["fvd"] = _safe_frechet(fg, fr)
    if "sync" in metrics and nets.syncnet is not None:
        res.values.update(
            _sync(nets.syncnet, gen, generated, bench_dir / clip["files"]["audio"], audio_from_bench)
        )
    return res


def _sync(net: Any, frames: np.ndarray, generated: Path, bench_wav: Path, from_bench: bool) -> dict[str, Any]:
    if from_bench:
        audio = read_wav(bench_wav)
    else:
        try:
            audio = load_audio_16k(str(generated))
        except NoAudio:
            return {"sync_c": None, "sync_d": None, "av_offset": None}
    crops = np.stack([cv2.resize(f, (SYNC_SIZE, SYNC_SIZE), interpolation=cv2.INTER_LINEAR) for f in frames])
    v = as_numpy(net.video_embeddings(torch.from_numpy(crops)))
    a = as_numpy(net.audio_embeddings(audio))
    n = min(sync_windows(len(frames), len(audio)), len(v), len(a))
    if n < 1:
        return {"sync_c": None, "sync_d": None, "av_offset": None}
    s = sync_scores(v, a, n)
    return {"sync_c": s.sync_c, "sync_d": s.sync_d, "av_offset": s.offset}
