"""TalkVid-Bench evaluation of generated talking-head videos (docs/evaluation.md): FID, FVD, Sync-C/D,
AV offset, LMD, PSNR, SSIM, LPIPS per clip and per subgroup. Run `python -m talkvid_fast.evaluate`."""

from __future__ import annotations

from .frechet import GaussianStats, frechet_distance, frechet_of_features, gaussian_stats
from .sync import SyncScores, sync_scores, sync_windows

__all__ = [
    "GaussianStats",
    "SyncScores",
    "frechet_distance",
    "frechet_of_features",
    "gaussian_stats",
    "sync_scores",
    "sync_windows",
]
