"""ONNX export of CoTracker3 windows (the graph TensorRT builds from; ONNX Runtime runs it on CPU).

Note [CoTracker engine shapes]: one graph per window shape, batch (windows) dynamic:
  * `paper`: video (B, 16, 3, 384, 512), queries (B, 256, 3), online model;
  * `official`: video (1, T, 3, 384, 512) with T the segment length (12 at 24-30 fps), queries (1, 10000, 3),
    offline model. engines/cotracker3.toml lists them. The graph has no 5-D GridSample and no Einsum
    (Note [Exportable CoTracker]); `graph_report` checks that.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from ..engines import export_onnx
from .cotracker import MODEL_RESOLUTION, CoTrackerThreeBase

INPUTS = ("video", "queries")
OUTPUTS = ("coords", "vis", "conf")


def example_inputs(
    frames: int, queries: int, size: tuple[int, int] = MODEL_RESOLUTION, batch: int = 1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """video float32 (B, T, 3, H, W) in 0..255, queries float32 (B, N, 3) at frame 0 inside the frame."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    video = torch.rand(batch, frames, 3, h, w, generator=g) * 255
    xy = torch.rand(batch, queries, 2, generator=g) * torch.tensor([w - 1.0, h - 1.0])
    return video, torch.cat([torch.zeros(batch, queries, 1), xy], dim=-1)


def export_cotracker(
    model: CoTrackerThreeBase,
    path: str | Path,
    frames: int,
    queries: int,
    size: tuple[int, int] = MODEL_RESOLUTION,
    opset: int = 17,
) -> Path:
    """Writes the window graph for (frames, queries, size) with a dynamic batch of windows."""
    args = example_inputs(frames, queries, size)
    return export_onnx(model.eval(), args, path, INPUTS, OUTPUTS, dynamic_batch=INPUTS + OUTPUTS, opset=opset)


def graph_report(path: str | Path) -> dict[str, object]:
    """Op counts and the input ranks of every GridSample of an exported graph."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    ranks = {}
    for vi in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        ranks[vi.name] = len(vi.type.tensor_type.shape.dim)
    ops = Counter(node.op_type for node in model.graph.node)
    grid_ranks = sorted({ranks.get(n.input[0], -1) for n in model.graph.node if n.op_type == "GridSample"})
    return {"ops": dict(ops), "gridsample_input_ranks": grid_ranks}
