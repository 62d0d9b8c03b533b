"""`select_runtime`: which engine runs a model here (Note [Runtime selection]).

Note [Runtime selection]: on a CUDA device, TensorRT when `tensorrt` imports and the cache holds an engine
whose key (Note [Engine cache]) matches this GPU, this TensorRT version, the exported ONNX file's hash, the
spec's current profile and the precision; else torch on CUDA at that precision. On the CPU, torch in fp32
(or ONNX Runtime when asked for and the ONNX file exists). The choice carries a `name` for the clip
records ("tensorrt-10.3.0-fp16", "torch-cuda-bf16", "torch-cpu-fp32", "onnxruntime-cpu") and a `reason`
saying why a faster engine was not taken, so a run never silently falls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ._cache import EngineKey, cached_engine, current_gpu, engine_root, onnx_path, onnx_sha256
from ._select import TorchEngine, pick_device
from ._specs import EngineSpec, find_graph, load_specs

CPU_RUNTIMES = ("torch", "onnxruntime")


@dataclass(frozen=True)
class RuntimeChoice:
    """The engine picked for one model graph on one device."""

    kind: str  #: tensorrt | torch | onnxruntime
    name: str  #: what the clip record says scored it
    device: str  #: "cuda:0", "cpu"
    precision: str  #: fp16 | bf16 | fp32
    graph: str
    engine: Path | None = None  #: the TensorRT engine file
    onnx: Path | None = None  #: the ONNX file (TensorRT's source, ONNX Runtime's model)
    reason: str = ""  #: why no faster engine was taken ("" for TensorRT)

    def open(self, module: torch.nn.Module | None = None) -> Any:
        """The callable engine: TrtEngine / TorchEngine(module) / OrtEngine; torch needs the module."""
        if self.kind == "tensorrt":
            from ._tensorrt import TrtEngine

            assert self.engine is not None
            return TrtEngine(self.engine, self.device, name=self.name)
        if self.kind == "onnxruntime":
            from ._onnx import OrtEngine

            assert self.onnx is not None
            return OrtEngine(self.onnx)
        if module is None:
            raise ValueError(f"runtime {self.name} runs a torch module: pass it to open()")
        return TorchEngine(module, torch.device(self.device), self.precision)


def _tensorrt_version() -> str | None:
    from ._tensorrt import tensorrt_version

    return tensorrt_version()


def select_runtime(
    model: str,
    device: str = "auto",
    precision: str | None = None,
    *,
    out: str | Path | None = None,
    weights_tag: str | None = None,
    cpu: str = "torch",
    specs: dict[str, EngineSpec] | None = None,
) -> RuntimeChoice:
    """Picks the engine for `model` (a graph name, or a model with one graph) on `device` (Note [Runtime selection]).

    precision: the spec's default when None (fp16 for every current spec); the CPU always runs fp32.
    weights_tag: which export to look for (default: the graph's official weights file stem).
    cpu: torch | onnxruntime, the CPU engine."""
    if cpu not in CPU_RUNTIMES:
        raise ValueError(f"cpu runtime {cpu!r}; allowed: {', '.join(CPU_RUNTIMES)}")
    specs = specs if specs is not None else load_specs()
    graph = find_graph(specs, model)
    spec = specs[graph.model]
    prec = spec.check_precision(precision)
    dev = pick_device(device)
    root = engine_root(out)
    onnx = onnx_path(root, graph.name, weights_tag or Path(graph.weights_file).stem)
    if dev.type == "cpu":
        why = "" if precision in (None, "fp32") else f"{prec} needs CUDA; the CPU runs fp32"
        if cpu == "onnxruntime":
            if onnx.is_file():
                return RuntimeChoice(
                    "onnxruntime", "onnxruntime-cpu", "cpu", "fp32", graph.name, onnx=onnx, reason=why
                )
            why = "; ".join(filter(None, [why, f"no ONNX export at {onnx}"]))
        return RuntimeChoice("torch", "torch-cpu-fp32", "cpu", "fp32", graph.name, reason=why or "no GPU")
    if dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    trt_version = _tensorrt_version()
    gpu = current_gpu(dev.index or 0)
    if trt_version is None:
        why = "TensorRT is not installed"
    elif gpu is None:
        why = "torch sees no CUDA GPU"
    elif not onnx.is_file():
        why = f"no ONNX export at {onnx} (run `python -m talkvid_fast.engines build --models {spec.name}`)"
    else:
        key = EngineKey.make(graph, gpu, trt_version, onnx_sha256(onnx), prec, spec.fp32_ops)
        engine = cached_engine(root, key)
        if engine is not None:
            name = f"tensorrt-{trt_version}-{prec}"
            return RuntimeChoice("tensorrt", name, str(dev), prec, graph.name, engine=engine, onnx=onnx)
        why = (
            f"no {prec} engine for {gpu.slug} / TensorRT {trt_version} with key {key.digest} "
            f"(run `python -m talkvid_fast.engines build --models {spec.name} --precision {prec}`)"
        )
    return RuntimeChoice("torch", f"torch-cuda-{prec}", str(dev), prec, graph.name, onnx=onnx, reason=why)
