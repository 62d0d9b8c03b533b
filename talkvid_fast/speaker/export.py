"""ONNX export of Light-ASD, one graph per scoring window (engines/light_asd.toml).

`python -m talkvid_fast.speaker.export OUT_DIR [SECONDS...]` writes `light_asd_<d>s.onnx` for each window
length d (default 1..6 s): inputs audio (B, 100d, 13) MFCCs and video (B, 25d, 112, 112) grey 0..255,
output scores (B, 25d), dynamic batch. The two GRUs export as ONNX GRU ops (linear_before_reset), the
time flips as Slice with step -1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ..engines import export_onnx
from .features import DURATIONS, FPS
from .model import AUDIO_PER_VIDEO, CROP, LightASD


def export_light_asd(model: LightASD, path: str | Path, seconds: int, opset: int = 17) -> Path:
    t = int(seconds * FPS)
    args = (torch.zeros(2, t * AUDIO_PER_VIDEO, 13), torch.zeros(2, t, CROP, CROP))
    return export_onnx(
        model.eval(),
        args,
        path,
        ["audio", "video"],
        ["scores"],
        dynamic_batch=["audio", "video", "scores"],
        opset=opset,
    )


def main(argv: list[str] | None = None) -> int:
    from ..weights import locate
    from .model import load_light_asd
    from .weights import LIGHT_ASD, TALKSET

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else ".")
    model = load_light_asd(locate(LIGHT_ASD, TALKSET))
    for d in [int(a) for a in args[1:]] or list(DURATIONS):
        print(export_light_asd(model, out / f"light_asd_{d}s.onnx", d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
