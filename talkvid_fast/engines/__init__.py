"""Model engines: one export, several runtimes (TensorRT, torch CUDA/CPU, ONNX Runtime CPU).

Note [Engines]: every model is a torch module written to export cleanly (static shapes except the batch,
TensorRT-supported ops). `export_onnx` writes the ONNX file that TensorRT builds from and that ONNX Runtime
runs on CPU; tests compare ONNX Runtime with torch. Each clip record names the engine that scored it.
"""

from __future__ import annotations

from ._onnx import OrtEngine, export_onnx
from ._select import TorchEngine, gpu_devices, pick_device

__all__ = ["OrtEngine", "TorchEngine", "export_onnx", "gpu_devices", "pick_device"]
