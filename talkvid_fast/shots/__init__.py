"""Shot-boundary detection with TransNetV2 (MIT), a stage-1 detector (`[segment] detector = "transnetv2"`).

`transnetv2.py`: the model (Note [TransNetV2 port]); `_windows.py`: upstream's inference windows and
scenes (Note [TransNetV2 windows]); `_detector.py`: the scan consumer (Note [TransNetV2 frames]);
`weights.py`: the weight set (Note [transnetv2 weights]); `export.py`: the ONNX export.
"""

from __future__ import annotations

from ._detector import TransNetCollector, TransNetParams, to_model_frame, transnetv2_engine
from ._windows import WindowedPredictor, predictions_to_scenes, tail_padding
from .transnetv2 import TransNetV2, load_transnetv2

__all__ = [
    "TransNetCollector",
    "TransNetParams",
    "TransNetV2",
    "WindowedPredictor",
    "load_transnetv2",
    "predictions_to_scenes",
    "tail_padding",
    "to_model_frame",
    "transnetv2_engine",
]
