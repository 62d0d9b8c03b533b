"""ONNX export of TransNetV2 (the file TensorRT builds from; see engines/transnetv2.toml).

`python -m talkvid_fast.shots.export OUT_DIR` writes `transnetv2.onnx`: input `frames` (N, 100, 27, 48, 3)
float32 RGB 0..255 -> `single`, `many` (N, 100) transition probabilities, dynamic batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ..engines import export_onnx
from ..weights import locate
from ._windows import WINDOW
from .transnetv2 import INPUT_HW, TransNetV2, load_transnetv2
from .weights import TRANSNETV2, WEIGHTS_FILE


def export_transnetv2(path: Path, model: TransNetV2 | None = None, opset: int = 17) -> Path:
    """Writes the ONNX file of `model` (default: the fetched official weights)."""
    model = model if model is not None else load_transnetv2(locate(TRANSNETV2, WEIGHTS_FILE))
    h, w = INPUT_HW
    return export_onnx(
        model,
        (torch.zeros(2, WINDOW, h, w, 3),),
        path,
        ["frames"],
        ["single", "many"],
        dynamic_batch=["frames", "single", "many"],
        opset=opset,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print(export_transnetv2(Path(args[0] if args else ".") / "transnetv2.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
