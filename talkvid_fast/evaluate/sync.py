"""Sync-C, Sync-D and the AV offset from SyncNet embeddings: the `SyncNetInstance.evaluate` protocol.

Note [Sync protocol] (joonson/syncnet_python, SyncNetInstance.py; reference/models.md §4.1): video at 25 fps,
audio 16 kHz mono. `min_length = min(frames, floor(samples / 640))` and `n = min_length - 5` windows: video
window i is frames i..i+4, audio window i the 20 MFCC columns from 4 i (both made by the network code,
`talkvid_fast.evalnets`). For each video window i, `pairwise_distance` (torch's, eps 1e-6) to the audio
windows i−15 .. i+15 of the audio features zero-padded by 15 rows at both ends; `mdist` = mean over i of
those 31 distances; Sync-D = min(mdist), Sync-C = median(mdist) − min(mdist) (torch's median: the lower of
the two middle values for an even count; 31 is odd), AV offset = 15 − argmin(mdist) (first minimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

VSHIFT = 15
FPS = 25
SAMPLE_RATE = 16_000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640


@dataclass(frozen=True)
class SyncScores:
    sync_c: float  #: confidence: median − min of the mean distances (higher is better)
    sync_d: float  #: min of the mean distances (lower is better)
    offset: int  #: AV offset in frames (15 − argmin); 0 = in sync
    windows: int  #: video windows compared
    mdist: tuple[float, ...]  #: the 2·vshift+1 mean distances, offsets +vshift .. −vshift


def sync_windows(frames: int, audio_samples: int) -> int:
    """n = min(frames, floor(samples / 640)) − 5: the windows upstream compares."""
    return min(frames, audio_samples // SAMPLES_PER_FRAME) - 5


def sync_scores(
    video_feat: np.ndarray | torch.Tensor,
    audio_feat: np.ndarray | torch.Tensor,
    windows: int | None = None,
    vshift: int = VSHIFT,
) -> SyncScores:
    """Note [Sync protocol] on (Nv, D) video and (Na, D) audio embeddings; the first `windows` of each
    (default: as many as both have)."""
    v = torch.as_tensor(np.asarray(video_feat), dtype=torch.float32)
    a = torch.as_tensor(np.asarray(audio_feat), dtype=torch.float32)
    n = min(len(v), len(a)) if windows is None else windows
    if n < 1 or n > len(v) or n > len(a):
        raise ValueError(f"{n} sync windows asked for; video has {len(v)}, audio {len(a)} embeddings")
    v, a = v[:n], a[:n]
    win = 2 * vshift + 1
    padded = torch.nn.functional.pad(a, (0, 0, vshift, vshift))
    dists = [
        torch.nn.functional.pairwise_distance(v[[i], :].repeat(win, 1), padded[i : i + win, :])
        for i in range(n)
    ]
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    conf = torch.median(mdist) - minval
    return SyncScores(
        sync_c=float(conf),
        sync_d=float(minval),
        offset=int(vshift - int(minidx)),
        windows=n,
        mdist=tuple(float(x) for x in mdist),
    )
