"""Real clips from the test media as hand-built Clip objects with exact (VFR) frame times."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch

from talkvid_fast.clips import Clip
from talkvid_fast.stages import FrameRequest
from tests.media import make_clip

from .helpers import deliver


def probe_clip(path: Path) -> Clip:
    """The whole video as one clip; frame times from the decoded presentation timestamps."""
    times = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        w, h = s.codec_context.width, s.codec_context.height
        for frame in c.decode(video=0):
            times.append(float(frame.time))
    t = np.array(times) - times[0]
    n = len(t)
    fps = (n - 1) / t[-1] if n > 1 and t[-1] > 0 else 25.0
    clip: Clip = make_clip(f"{path.stem}-scene1", w, h, fps, t, str(path))
    return clip


def load_view(path: Path, request: FrameRequest) -> torch.Tensor:
    """Decodes only the requested frames and resizes them like the pipeline."""
    wanted = set(request.indices.tolist())
    kept: dict[int, np.ndarray] = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                kept[i] = frame.to_ndarray(format="rgb24")
    order = sorted(kept)
    frames = np.stack([kept[i] for i in order])
    pos = {i: k for k, i in enumerate(order)}
    remapped = FrameRequest(
        request.name, np.array([pos[i] for i in request.indices]), request.size, request.antialias
    )
    return deliver(frames, remapped)
