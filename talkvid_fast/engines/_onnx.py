"""ONNX export and the ONNX Runtime engine (CPU)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch


def export_onnx(
    module: torch.nn.Module,
    args: tuple[torch.Tensor, ...],
    path: str | Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_batch: Sequence[str] = (),
    opset: int = 17,
) -> Path:
    """Exports `module` (eval mode, fp32) to `path` atomically; names in `dynamic_batch` get a dynamic dim 0."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dynamic_axes = {name: {0: "batch"} for name in dynamic_batch}
    module = module.eval()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".onnx")
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(
                module,
                args,
                tmp,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes or None,
                opset_version=opset,
                dynamo=False,  # the TorchScript exporter gives TensorRT-friendly graphs with named dynamic axes
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class OrtEngine:
    """Runs an ONNX file with ONNX Runtime on the CPU (the portable engine of Note [Engines])."""

    name = "onnxruntime-cpu"

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, *inputs: torch.Tensor | np.ndarray) -> list[np.ndarray]:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"expected inputs {self.input_names}, got {len(inputs)} tensors")
        feed = {
            name: (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x))
            for name, x in zip(self.input_names, inputs, strict=True)
        }
        return list(self.session.run(self.output_names, feed))
