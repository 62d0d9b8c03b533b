"""ONNX export of the facemesh models (the files TensorRT builds from; see engines/facemesh.toml).

`python -m talkvid_fast.head.export OUT_DIR` writes `blazeface_full_range.onnx` (input (N, 192, 192, 3)
float32 in [-1, 1] -> decoded detections (N, 2304, 16) and scores (N, 2304)) and `facemesh.onnx`
(input (N, 192, 192, 3) float32 in [0, 1] -> landmarks (N, 468, 3) and presence (N,)), dynamic batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ..engines import export_onnx
from ..weights import locate
from .blazeface import load_blazeface
from .facemesh import load_facemesh
from .weights import DETECTOR_FULL, DETECTOR_SHORT, FACEMESH, LANDMARKS


def export_detector(out: Path, kind: str = "full_range") -> Path:
    model = load_blazeface(locate(FACEMESH, DETECTOR_FULL if kind == "full_range" else DETECTOR_SHORT), kind)
    s = model.cfg.input_size
    return export_onnx(
        model,
        (torch.zeros(2, s, s, 3),),
        out / f"blazeface_{kind}.onnx",
        ["image"],
        ["detections", "scores"],
        dynamic_batch=["image", "detections", "scores"],
    )


def export_landmarks(out: Path) -> Path:
    model = load_facemesh(locate(FACEMESH, LANDMARKS))
    return export_onnx(
        model,
        (torch.zeros(2, 192, 192, 3),),
        out / "facemesh.onnx",
        ["crop"],
        ["landmarks", "presence"],
        dynamic_batch=["crop", "landmarks", "presence"],
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else ".")
    for p in (export_detector(out), export_landmarks(out)):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
