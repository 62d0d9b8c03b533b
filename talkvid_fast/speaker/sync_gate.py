"""The lip-sync check of the speaker stage: SyncNet v2's confidence and AV offset on the tracked face
(Note [Sync gate]).

Note [Sync gate]: Light-ASD asks whether the face talks while speech is heard, so a face dubbed with
someone else's speech passes it (docs/speaker.md, "Limits"). LatentSync's data pipeline keeps a clip only where
SyncNet v2 is confident the lips follow the audio (its `sync_av.py`: the confidence and AV offset of
syncnet_python's `SyncNetInstance.evaluate`, confidence >= 3 and |offset| <= 6 frames, after which it shifts the
audio by the offset). With `sync = "syncnet"` the stage
runs the same measure on its own face track: the track's 224x224 face regions (syncnet_python's crop, the
one Light-ASD's crops are cut from) and the clip's audio over the track's span, scored by the evaluation
module's SyncNet (`talkvid_fast.evalnets`, parity with upstream there) and `sync_scores` (Note [Sync
protocol]). The gate `sync` passes iff confidence >= `min_sync_confidence` and |offset| <=
`max_sync_offset`; the scores are recorded either way. We do not shift the audio: `sync_offset` is recorded
for whoever wants to. The weights (`syncnet_v2`) cannot be fetched on the machine this was built on, so the
thresholds are LatentSync's, not calibrated here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..evaluate.sync import sync_scores, sync_windows
from .features import FaceTrack, track_faces

SYNC_MODES = ("off", "syncnet")


def sync_check(
    embedder: Any, frames: np.ndarray, track: FaceTrack, audio: np.ndarray, crop_scale: float
) -> dict[str, Any]:
    """SyncNet's confidence, distance and AV offset of `track` against `audio` (int16 16 kHz, starting at the
    track's first frame); None values where the track or the audio is too short for one window."""
    faces = track_faces(frames, track, crop_scale)
    n = sync_windows(len(faces), len(audio))
    if n < 1:
        return {"sync_confidence": None, "sync_distance": None, "sync_offset": None, "sync_windows": 0}
    v = embedder.video_embeddings(torch.from_numpy(faces))
    a = embedder.audio_embeddings(audio)
    n = min(n, len(v), len(a))
    s = sync_scores(v, a, n)
    return {
        "sync_confidence": s.sync_c,
        "sync_distance": s.sync_d,
        "sync_offset": s.offset,
        "sync_windows": n,
    }


def sync_passes(scores: dict[str, Any], min_confidence: float, max_offset: int) -> bool:
    conf, offset = scores.get("sync_confidence"), scores.get("sync_offset")
    return conf is not None and offset is not None and conf >= min_confidence and abs(offset) <= max_offset
