"""The `transnetv2` stage-1 detector: a pass-1 scan consumer, like segment's SceneCollector.

Note [TransNetV2 frames]: upstream extracts frames with `ffmpeg -s 48x27 -pix_fmt rgb24` (a second full
decode; FFmpeg auto-rotates, then swscale's default bicubic squeezes the frame to 48x27 whatever its
aspect). We take them from the scan that stage 1 already runs (Note [Decode passes]): each small BGR frame
(about 256 px wide, coded orientation) is turned to display orientation and reduced to 48x27 with
cv2.INTER_AREA (pixel-area averaging, the closest of cv2's filters to swscale's bicubic at this ratio:
mean absolute difference 2.5-2.9 grey levels on the multishot clips, against 7-8 for bilinear or bicubic),
then RGB. The frames feed `WindowedPredictor` while the scan goes on (Note [TransNetV2 windows]), so only a
few windows of 48x27 frames are ever held. bench/micro/shot_detectors.py measures what this does to the
predictions against upstream-style frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from ..engines import RUNTIMES, ModelEngine, open_model_engine
from ..engines._specs import PRECISIONS
from ..weights import locate
from ._windows import WINDOW, WindowedPredictor, predictions_to_scenes
from .transnetv2 import INPUT_HW, load_transnetv2
from .weights import TRANSNETV2, WEIGHTS_FILE

PARAMS = {"threshold": 0.5, "runtime": "auto", "precision": "fp32", "batch": 4}
# one model per (device, runtime, precision) and process
_ENGINES: dict[tuple[str, str, str], ModelEngine] = {}


@dataclass(frozen=True)
class TransNetParams:
    threshold: float = 0.5  #: a frame is a transition when its single-frame probability exceeds this
    runtime: str = "auto"  #: auto | tensorrt | torch | onnxruntime (Note [Stage engines])
    precision: str = "fp32"  #: fp32 | fp16 | bf16 (reduced precisions on CUDA only)
    batch: int = 4  #: 100-frame windows per model call

    @classmethod
    def parse(cls, params: dict[str, Any]) -> TransNetParams:
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ValueError(
                f"bad parameters for the transnetv2 detector: unknown {unknown}; allowed: {', '.join(PARAMS)}"
            )
        merged = {**PARAMS, **params}
        threshold = float(merged["threshold"])
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"transnetv2 threshold must be in (0, 1), got {threshold}")
        batch = int(merged["batch"])
        if batch < 1:
            raise ValueError(f"transnetv2 batch must be >= 1 windows, got {batch}")
        runtime, precision = str(merged["runtime"]), str(merged["precision"])
        if runtime not in RUNTIMES:
            raise ValueError(f"transnetv2 runtime {runtime!r}; allowed: {', '.join(RUNTIMES)}")
        if precision not in PRECISIONS:
            raise ValueError(f"transnetv2 precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
        return cls(threshold, runtime, precision, batch)


def transnetv2_engine(device: torch.device, runtime: str = "auto", precision: str = "fp32") -> ModelEngine:
    """The model behind the engine layer, loaded once per process; WeightsMissing says how to fetch."""
    key = (str(device), runtime, precision if device.type == "cuda" else "fp32")
    if key not in _ENGINES:
        path = locate(TRANSNETV2, WEIGHTS_FILE)
        module = load_transnetv2(path)
        _ENGINES[key] = open_model_engine(
            "transnetv2", module, device, key[2], runtime, weights_tag=path.stem
        )
    return _ENGINES[key]


def to_model_frame(small_bgr: np.ndarray, rotation: int) -> np.ndarray:
    """A scan frame (coded orientation, BGR) -> (27, 48, 3) uint8 RGB in display orientation."""
    image = np.rot90(small_bgr, k=rotation // 90) if rotation else small_bgr
    h, w = INPUT_HW
    small = cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small[:, :, ::-1])


@dataclass
class TransNetCollector:
    """Pass-1 consumer: 48x27 frames -> TransNetV2 predictions -> scenes (Note [TransNetV2 frames])."""

    params: TransNetParams
    device: torch.device
    rotation: int = 0
    predictions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  #: after scenes()

    def __post_init__(self) -> None:
        self.engine = transnetv2_engine(self.device, self.params.runtime, self.params.precision)
        self._predictor = WindowedPredictor(self._run, self.params.batch)
        self._done = False

    def _run(self, windows: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(windows).to(self.device).float()
        single, _ = self.engine(x)
        assert single.shape == (len(windows), WINDOW)
        return single.float().cpu().numpy()

    def __call__(self, index: int, number: int, small_bgr: np.ndarray) -> None:
        self._predictor.push(to_model_frame(small_bgr, self.rotation))

    def scenes(self) -> list[tuple[int, int]]:
        """[start_frame, end_frame) in decoded frames: upstream's scenes, their inclusive end made exclusive."""
        if not self._done:
            self.predictions = self._predictor.finish()
            self._done = True
        if not len(self.predictions):
            return []
        return [(a, b + 1) for a, b in predictions_to_scenes(self.predictions, self.params.threshold)]
