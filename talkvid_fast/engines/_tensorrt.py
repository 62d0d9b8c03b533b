"""The one module written against the TensorRT 10 Python API: build an engine from ONNX, run it on torch tensors.

Note [TensorRT module]: everything TensorRT-specific is here and nowhere else, so a TensorRT API change is
a change to this file. `tensorrt` is imported lazily (`require_tensorrt`); when it is absent the error says
how to install it. Building: explicit-batch network (the TRT 10 default) from the ONNX parser, one
optimisation profile with the spec's min/opt/max shapes, FP16 or BF16 flags (fp32: the TF32 flag, on by
default in TensorRT, cleared, so an fp32 engine computes in fp32 on Ampere and later too), ops named in the
spec's `fp32_ops` pinned to fp32 with PREFER_PRECISION_CONSTRAINTS, and a timing cache loaded before and
saved after the build. Running (`TrtEngine`): the engine's I/O tensors are listed by name
(num_io_tensors / get_tensor_name / get_tensor_mode), input shapes set per call (set_input_shape), outputs
allocated as torch CUDA tensors of the shapes the context infers, every address bound (set_tensor_address),
and execute_async_v3 enqueued on torch's current stream, so the call orders like any torch op.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ._cache import write_atomic

INSTALL_HINT = (
    "TensorRT is not installed: install TensorRT 10 for your CUDA version on the GPU machine, e.g. "
    "`pip install tensorrt-cu12` (CUDA 12; the plain PyPI `tensorrt` names are stubs that need NVIDIA's index), "
    "or use the torch/ONNX Runtime engines (`python -m talkvid_fast.engines build --export-only`)"
)


class TensorRTUnavailable(RuntimeError):
    """`tensorrt` cannot be imported (or is not version 10+); the message says how to install it."""


class TensorRTBuildError(RuntimeError):
    """The ONNX parser or the builder failed; the message carries TensorRT's own errors."""


def require_tensorrt() -> ModuleType:
    """Imports `tensorrt` (TensorRT >= 10) or raises TensorRTUnavailable with the install hint."""
    try:
        trt = importlib.import_module("tensorrt")
    except ImportError as exc:
        raise TensorRTUnavailable(f"{INSTALL_HINT} ({exc})") from exc
    version = str(getattr(trt, "__version__", "0"))
    if int(version.split(".")[0] or 0) < 10:
        raise TensorRTUnavailable(
            f"TensorRT {version} found; this module needs TensorRT 10 or newer. {INSTALL_HINT}"
        )
    return trt


def tensorrt_version() -> str | None:
    """The installed TensorRT version, or None (never raises)."""
    try:
        return str(require_tensorrt().__version__)
    except TensorRTUnavailable:
        return None


def _logger(trt: ModuleType) -> Any:
    return trt.Logger(trt.Logger.WARNING)


def build_engine(
    onnx: Path,
    profile: Sequence[tuple[str, Sequence[int], Sequence[int], Sequence[int]]],
    precision: str,
    timing_cache: Path | None = None,
    fp32_ops: Sequence[str] = (),
    workspace_gib: float = 8.0,
) -> bytes:
    """Builds a serialized engine (plan) from `onnx`.

    profile: (input name, min shape, opt shape, max shape) per input; precision: fp32 | fp16 | bf16;
    timing_cache: read before the build when it exists, written (atomically) after it."""
    if precision not in ("fp32", "fp16", "bf16"):
        raise ValueError(f"precision {precision!r}; allowed: fp32, fp16, bf16")
    trt = require_tensorrt()
    logger = _logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TRT 10: explicit batch always; no flags
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TensorRTBuildError(f"ONNX parser failed on {onnx}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    opt_profile = builder.create_optimization_profile()
    names = {network.get_input(i).name for i in range(network.num_inputs)}
    for name, lo, opt, hi in profile:
        if name not in names:
            raise TensorRTBuildError(f"{onnx} has no input {name!r}; inputs: {sorted(names)}")
        opt_profile.set_shape(name, tuple(lo), tuple(opt), tuple(hi))
    config.add_optimization_profile(opt_profile)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "bf16":
        config.set_flag(trt.BuilderFlag.BF16)
    else:  # fp32 means fp32: TensorRT would otherwise run convolutions and matmuls in TF32 on Ampere+
        config.clear_flag(trt.BuilderFlag.TF32)
    if precision != "fp32" and fp32_ops:
        _pin_fp32(trt, network, config, fp32_ops)
    cache_bytes = timing_cache.read_bytes() if timing_cache is not None and timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise TensorRTBuildError(f"TensorRT could not build {onnx} ({precision}); see its log above")
    if timing_cache is not None:
        write_atomic(timing_cache, bytes(memoryview(config.get_timing_cache().serialize())))
    return bytes(memoryview(plan))


def _pin_fp32(trt: ModuleType, network: Any, config: Any, ops: Sequence[str]) -> int:
    """Sets fp32 precision on the layers of the ONNX ops named in the spec's `fp32_ops`; returns the count."""
    types = {"LayerNormalization": trt.LayerType.NORMALIZATION, "Softmax": trt.LayerType.SOFTMAX}
    wanted = {types[op] for op in ops}
    pinned = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type in wanted:
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float32)
            pinned += 1
    config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    return pinned


def _torch_dtype(trt: ModuleType, dtype: Any) -> torch.dtype:
    table = {
        trt.float32: torch.float32,
        trt.float16: torch.float16,
        trt.bfloat16: torch.bfloat16,
        trt.int32: torch.int32,
        trt.int64: torch.int64,
        trt.int8: torch.int8,
        trt.bool: torch.bool,
    }
    if dtype not in table:
        raise TypeError(f"engine tensor dtype {dtype} has no torch equivalent here")
    return table[dtype]


class TrtEngine:
    """A deserialized engine run on torch CUDA tensors: `engine(*inputs) -> list[Tensor]` (like OrtEngine).

    inputs: CUDA tensors in the engine's input order, each of a shape inside the build profile (converted
    to the engine's dtype and made contiguous when needed). Outputs are new CUDA tensors on the same device."""

    def __init__(
        self, plan: bytes | Path, device: str | torch.device = "cuda", name: str = "tensorrt"
    ) -> None:
        trt = require_tensorrt()
        self._trt = trt
        self.device = torch.device(device)
        self.name = name
        data = plan.read_bytes() if isinstance(plan, Path) else plan
        self._runtime = trt.Runtime(_logger(trt))
        with torch.cuda.device(self.device) if self.device.type == "cuda" else nullcontext():
            self.engine = self._runtime.deserialize_cuda_engine(data)
            if self.engine is None:
                raise TensorRTBuildError(
                    "TensorRT could not deserialize the engine (other GPU kind or TRT version?)"
                )
            self.context = self.engine.create_execution_context()
        self.input_names: list[str] = []
        self.output_names: list[str] = []
        self.dtypes: dict[str, torch.dtype] = {}
        for i in range(self.engine.num_io_tensors):
            tname = self.engine.get_tensor_name(i)
            is_input = self.engine.get_tensor_mode(tname) == trt.TensorIOMode.INPUT
            (self.input_names if is_input else self.output_names).append(tname)
            self.dtypes[tname] = _torch_dtype(trt, self.engine.get_tensor_dtype(tname))

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"expected inputs {self.input_names}, got {len(inputs)} tensors")
        keep = []
        for tname, x in zip(self.input_names, inputs, strict=True):
            if x.device != self.device:
                raise ValueError(f"input {tname!r} is on {x.device}; the engine runs on {self.device}")
            x = x.to(self.dtypes[tname]).contiguous()
            keep.append(x)  # alive until the enqueue below has been issued
            if not self.context.set_input_shape(tname, tuple(x.shape)):
                raise ValueError(f"input {tname!r} shape {tuple(x.shape)} is outside the engine's profile")
            self.context.set_tensor_address(tname, x.data_ptr())
        outputs = []
        for tname in self.output_names:
            shape = tuple(self.context.get_tensor_shape(tname))
            y = torch.empty(shape, dtype=self.dtypes[tname], device=self.device)
            self.context.set_tensor_address(tname, y.data_ptr())
            outputs.append(y)
        # the inputs in `keep` are allocated on (or converted on) the current stream, so the caching
        # allocator cannot hand their memory out before this enqueued work has run
        if not self.context.execute_async_v3(self._stream_handle()):
            raise RuntimeError(f"{self.name}: execute_async_v3 failed")
        del keep
        return outputs

    def _stream_handle(self) -> int:
        """torch's current CUDA stream (a CPU device only occurs with a fake `tensorrt` in tests)."""
        return torch.cuda.current_stream(self.device).cuda_stream if self.device.type == "cuda" else 0
