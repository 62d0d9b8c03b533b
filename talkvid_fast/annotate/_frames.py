"""The frames sent with a clip: K frames spread evenly over the clip, decoded from its source.

Note [Annotation frames]: frame k of K is the frame on screen at start + (k + 0.5) * duration / K, the
centres of K equal parts of the clip, so a 5 s clip with K = 8 is seen every 0.625 s. Times are the run's
clip times (seconds from the source's first frame, as the decode layer's scan reports them), read with
`decode.frames_at_times` (Note [Frames at times]).
"""

from __future__ import annotations


def sample_times(start: float, end: float, k: int) -> list[float]:
    """The K times of Note [Annotation frames]."""
    if k < 1:
        raise ValueError(f"frames must be >= 1, got {k}")
    if not end > start:
        raise ValueError(f"empty clip span [{start}, {end})")
    step = (end - start) / k
    return [start + (i + 0.5) * step for i in range(k)]
