"""A small stand-in for the `tensorrt` 10 Python module that records every API call (TensorRT cannot be
installed here). Only the names talkvid_fast/engines/_tensorrt.py uses exist, so a call to a name that is
not TensorRT 10's (e.g. the removed `execute_async_v2` or `build_engine`) fails with AttributeError.

The fake engine runs `y = 2 * x` per input/output pair, reading and writing the memory behind the bound
addresses, so TrtEngine's binding of torch tensors is checked for real (on CPU tensors).
"""

from __future__ import annotations

import ctypes
import enum
import json
import types
from typing import Any

import numpy as np

__version__ = "10.3.0"
CALLS: list[tuple[str, tuple[Any, ...]]] = []


def _rec(name: str, *args: Any) -> None:
    CALLS.append((name, args))


float32, float16, bfloat16, int32, int64, int8 = "f32", "f16", "bf16", "i32", "i64", "i8"
globals()["bool"] = "b"  # trt.bool, without shadowing the builtin in this file


class Logger:
    WARNING = 2

    def __init__(self, level: int) -> None:
        _rec("Logger", level)


class BuilderFlag(enum.Enum):
    FP16 = 1
    BF16 = 2
    PREFER_PRECISION_CONSTRAINTS = 3


class MemoryPoolType(enum.Enum):
    WORKSPACE = 0


class LayerType(enum.Enum):
    CONVOLUTION = 0
    NORMALIZATION = 1
    SOFTMAX = 2


class TensorIOMode(enum.Enum):
    INPUT = 1
    OUTPUT = 2


class _Layer:
    def __init__(self, type_: LayerType) -> None:
        self.type, self.precision, self.num_outputs = type_, None, 1
        self.out_types: dict[int, str] = {}

    def set_output_type(self, i: int, dtype: str) -> None:
        self.out_types[i] = dtype


class _Tensor:
    def __init__(self, name: str) -> None:
        self.name = name


class _Network:
    def __init__(self) -> None:
        self.inputs: list[str] = []
        self.layers = [
            _Layer(LayerType.CONVOLUTION),
            _Layer(LayerType.NORMALIZATION),
            _Layer(LayerType.SOFTMAX),
        ]

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    def get_input(self, i: int) -> _Tensor:
        return _Tensor(self.inputs[i])

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def get_layer(self, i: int) -> _Layer:
        return self.layers[i]


class OnnxParser:
    fail = False  #: tests set this to make parsing fail

    def __init__(self, network: _Network, logger: Logger) -> None:
        _rec("OnnxParser")
        self.network, self.num_errors = network, 0

    def parse_from_file(self, path: str) -> bool:
        _rec("parse_from_file", path)
        if OnnxParser.fail:
            self.num_errors = 1
            return False
        import onnx

        graph = onnx.load(path, load_external_data=False).graph
        self.network.inputs = [i.name for i in graph.input]
        return True

    def get_error(self, i: int) -> str:
        return "In node 3 (Einsum): unsupported"


class _Profile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[Any, ...]] = {}

    def set_shape(self, name: str, lo: tuple[int, ...], opt: tuple[int, ...], hi: tuple[int, ...]) -> None:
        _rec("set_shape", name, lo, opt, hi)
        self.shapes[name] = (lo, opt, hi)


class _TimingCache:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self) -> bytes:
        return self.data + b"+timed"


class _Config:
    def __init__(self) -> None:
        self.flags: set[BuilderFlag] = set()
        self.profiles: list[_Profile] = []
        self.cache: _TimingCache | None = None

    def set_memory_pool_limit(self, pool: MemoryPoolType, size: int) -> None:
        _rec("set_memory_pool_limit", pool, size)

    def add_optimization_profile(self, profile: _Profile) -> int:
        _rec("add_optimization_profile")
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def set_flag(self, flag: BuilderFlag) -> None:
        _rec("set_flag", flag)
        self.flags.add(flag)

    def create_timing_cache(self, data: bytes) -> _TimingCache:
        _rec("create_timing_cache", bytes(data))
        return _TimingCache(bytes(data))

    def set_timing_cache(self, cache: _TimingCache, ignore_mismatch: bool) -> bool:
        _rec("set_timing_cache", ignore_mismatch)
        self.cache = cache
        return True

    def get_timing_cache(self) -> _TimingCache:
        assert self.cache is not None
        return self.cache


class Builder:
    def __init__(self, logger: Logger) -> None:
        _rec("Builder")

    def create_network(self, flags: int) -> _Network:
        _rec("create_network", flags)
        return _Network()

    def create_builder_config(self) -> _Config:
        _rec("create_builder_config")
        return _Config()

    def create_optimization_profile(self) -> _Profile:
        _rec("create_optimization_profile")
        return _Profile()

    def build_serialized_network(self, network: _Network, config: _Config) -> bytes:
        _rec("build_serialized_network")
        prof = config.profiles[0].shapes
        plan = {"inputs": list(prof), "flags": sorted(f.name for f in config.flags)}
        return b"FAKEPLAN" + json.dumps(plan).encode()


class _Context:
    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addr: dict[str, int] = {}

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        _rec("set_input_shape", name, tuple(shape))
        self.shapes[name] = tuple(shape)
        return shape[0] <= 64  # the fake profile's max batch

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.shapes[self.engine.pairs[name]]

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        _rec("set_tensor_address", name)
        self.addr[name] = ptr
        return True

    def execute_async_v3(self, stream: int) -> bool:
        _rec("execute_async_v3", stream)
        for out, inp in self.engine.pairs.items():
            n = int(np.prod(self.shapes[inp]))
            x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addr[inp]))
            y = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addr[out]))
            y[:] = 2 * x
        return True


class _Engine:
    def __init__(self, plan: bytes) -> None:
        names = json.loads(plan[len(b"FAKEPLAN") :])["inputs"]
        self.pairs = {f"{n}_out": n for n in names}  #: output -> input
        self.names = [*names, *self.pairs]

    @property
    def num_io_tensors(self) -> int:
        return len(self.names)

    def get_tensor_name(self, i: int) -> str:
        return self.names[i]

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return TensorIOMode.OUTPUT if name in self.pairs else TensorIOMode.INPUT

    def get_tensor_dtype(self, name: str) -> str:
        return float32

    def create_execution_context(self) -> _Context:
        _rec("create_execution_context")
        return _Context(self)


class Runtime:
    def __init__(self, logger: Logger) -> None:
        _rec("Runtime")

    def deserialize_cuda_engine(self, data: bytes) -> _Engine | None:
        _rec("deserialize_cuda_engine")
        return _Engine(data) if data.startswith(b"FAKEPLAN") else None


def install(monkeypatch: Any, version: str = __version__) -> types.ModuleType:
    """Puts this module into sys.modules as `tensorrt` (undone by monkeypatch) and clears the call log."""
    import sys

    CALLS.clear()
    OnnxParser.fail = False
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "__version__", version)
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    return module


def names() -> list[str]:
    return [c[0] for c in CALLS]
