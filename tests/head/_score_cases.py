"""Random and edge-case clips for the score tests (shared by the CPU test and the simulator subprocess)."""

from __future__ import annotations

import numpy as np

from talkvid_fast.head.scores_reference import ClipFaces


def random_clips(seed: int = 0, n: int = 40) -> list[ClipFaces]:
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        w, h = int(rng.integers(64, 1920)), int(rng.integers(64, 1080))
        s = int(rng.integers(0, 12))
        counts = rng.choice([0, 1, 1, 1, 1, 2], size=s)
        k = int(np.sum(counts == 1))
        if i % 7 == 0:  # edge cases: no face, one face, keypoints on the frame edge
            counts = np.zeros(s, np.int64) if i % 14 == 0 else np.ones(min(s, 1), np.int64)
            k = int(np.sum(counts == 1))
        centre = rng.uniform([0, 0], [w, h])
        kps = centre + rng.normal(0, 0.2 * min(w, h), (k, 5, 2))
        if k and i % 3 == 0:
            kps[0, 0] = (w, rng.uniform(0, h))  # exactly on the right edge: outside
            kps[-1, 2] = (0.0, 0.0)  # origin: inside
        pose = rng.normal(0, 30, (k, 3))
        xy = rng.uniform(-50, [w, h], (k, 2))
        box = np.concatenate([xy, xy + rng.uniform(1, 400, (k, 2))], axis=1)
        clips.append(ClipFaces(w, h, counts, kps, pose, box))
    return clips
