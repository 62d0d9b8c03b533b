"""ONNX export of the evaluation networks we own (engines/inception_fid.toml, syncnet_v2.toml, i3d_videogpt.toml).

`python -m talkvid_fast.engines build --models inception_fid,syncnet_v2,i3d_videogpt` calls these through
talkvid_fast/engines/_exporters.py. Every graph takes fp32, has a dynamic batch and a static rest, and maps
output row i to input row i (so the engine layer may split a batch). StyleGAN-V's TorchScript I3D (the default
FVD protocol) has no exporter: Note [Which I3D].
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..engines import export_onnx
from ._inception_i3d import InceptionI3d
from .inception import FID_SIZE, FIDInception
from .syncnet import SyncNet, SyncNetTower

#: graph name -> (input names, output names), as in the engine specs
GRAPH_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "inception_fid": (("images",), ("features",)),
    "syncnet_v2_audio": (("mfcc",), ("embedding",)),
    "syncnet_v2_lip": (("video",), ("embedding",)),
    "i3d_videogpt": (("clips",), ("features",)),
}
I3D_FRAMES = 16  #: the evaluator's FVD window (evaluate/_clip.py FVD_WINDOW)


def _export(module: torch.nn.Module, x: torch.Tensor, graph: str, path: str | Path, opset: int) -> Path:
    inputs, outputs = GRAPH_IO[graph]
    return export_onnx(
        module.eval(), (x,), path, inputs, outputs, dynamic_batch=[*inputs, *outputs], opset=opset
    )


def export_inception(net: FIDInception, path: str | Path, opset: int = 17, size: int = FID_SIZE) -> Path:
    """images (B, 3, size, size) in [-1, 1] -> features (B, 2048)."""
    return _export(net, torch.zeros(2, 3, size, size), "inception_fid", path, opset)


def export_syncnet(net: SyncNet, tower: str, path: str | Path, opset: int = 17) -> Path:
    """tower `audio`: mfcc (B, 1, 13, 20); `lip`: video (B, 3, 5, 224, 224) BGR 0..255; -> embedding (B, 1024)."""
    module = SyncNetTower(net, tower)
    x = torch.zeros(2, 1, 13, 20) if tower == "audio" else torch.zeros(2, 3, 5, 224, 224)
    return _export(module, x, f"syncnet_v2_{tower}", path, opset)


def export_i3d(net: InceptionI3d, path: str | Path, frames: int = I3D_FRAMES, opset: int = 17) -> Path:
    """clips (B, 3, frames, 224, 224) in [-1, 1] -> features (B, 400); the SAME pads are traced for `frames`."""
    if frames < 9:
        raise ValueError(f"I3D needs at least 9 frames per clip (its final 2x7x7 pool); got {frames}")
    return _export(net, torch.zeros(2, 3, frames, 224, 224), "i3d_videogpt", path, opset)
