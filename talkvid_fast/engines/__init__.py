"""Model engines: one export, several runtimes (TensorRT, torch CUDA/CPU, ONNX Runtime CPU).

Note [Engines]: every model is a torch module written to export cleanly (static shapes except the batch,
TensorRT-supported ops). `export_onnx` writes the ONNX file that TensorRT builds from and that ONNX Runtime
runs on CPU; tests compare ONNX Runtime with torch. Each clip record names the engine that scored it.
`python -m talkvid_fast.engines build` exports and builds TensorRT engines from `engines/*.toml` (Note [Engine
spec schema], Note [Engine cache]); `select_runtime` picks TensorRT, torch CUDA or CPU (Note [Runtime selection]);
stages run their models through `open_model_engine` (Note [Stage engines]).
"""

from __future__ import annotations

from ._model_engine import RUNTIMES, EngineUse, ModelEngine, open_model_engine
from ._onnx import OrtEngine, export_onnx
from ._runtime import RuntimeChoice, select_runtime
from ._select import TorchEngine, gpu_devices, pick_device
from ._specs import EngineSpec, GraphSpec, SpecError, load_specs
from ._tensorrt import TensorRTUnavailable, TrtEngine

__all__ = [
    "RUNTIMES",
    "EngineSpec",
    "EngineUse",
    "GraphSpec",
    "ModelEngine",
    "OrtEngine",
    "RuntimeChoice",
    "SpecError",
    "TensorRTUnavailable",
    "TorchEngine",
    "TrtEngine",
    "export_onnx",
    "gpu_devices",
    "load_specs",
    "open_model_engine",
    "pick_device",
    "select_runtime",
]
