"""A small stand-in for the `tensorrt` 10 Python module that records every API call (TensorRT cannot be
installed here, so this fake is the only TensorRT the engine code meets in CI). Only the names
talkvid_fast/engines/_tensorrt.py uses exist, each checked against TensorRT 10's Python API reference, so a
call to a name that is not TensorRT 10's (e.g. the removed `execute_async_v2` or `build_engine`) fails with
AttributeError. Where it is cheap the fake also behaves like TensorRT 10 where code could go wrong:
`build_serialized_network` and `ITimingCache.serialize` return host memory (a buffer, not `bytes`), a build
fails (None) when an input has no profile shape or a profile is not min <= opt <= max of one rank, the
context accepts only input shapes inside the built profile, `set_tensor_address` refuses unknown names,
`execute_async_v3` fails unless every I/O tensor has an address, `get_error` returns an error object,
and `set_output_type` refuses an output index the layer does not have.

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
    TF32 = 4


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
        if not 0 <= i < self.num_outputs:
            raise IndexError(f"layer has {self.num_outputs} outputs, not {i + 1}")
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

    def get_error(self, i: int) -> _ParserError:
        return _ParserError()


class _ParserError:
    """TensorRT's IParserError: an object (desc(), node(), ...), printable, not a str."""

    def desc(self) -> str:
        return "unsupported"

    def node(self) -> int:
        return 3

    def __str__(self) -> str:
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

    def serialize(self) -> memoryview:
        return memoryview(self.data + b"+timed")  # IHostMemory: a buffer, not bytes


class _Config:
    def __init__(self) -> None:
        self.flags: set[BuilderFlag] = {BuilderFlag.TF32}  # TensorRT 10's default: TF32 on
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

    def clear_flag(self, flag: BuilderFlag) -> None:
        _rec("clear_flag", flag)
        self.flags.discard(flag)

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

    def build_serialized_network(self, network: _Network, config: _Config) -> memoryview | None:
        _rec("build_serialized_network")
        prof = config.profiles[0].shapes if config.profiles else {}
        if set(network.inputs) - set(prof):
            return None  # TensorRT: a dynamic input without a profile shape fails the build
        for lo, opt, hi in prof.values():
            if not (
                len(lo) == len(opt) == len(hi)
                and all(a <= b <= c for a, b, c in zip(lo, opt, hi, strict=True))
            ):
                return None
        plan = {
            "inputs": list(prof),
            "profile": {n: [lo, hi] for n, (lo, _, hi) in prof.items()},
            "flags": sorted(f.name for f in config.flags),
        }
        return memoryview(b"FAKEPLAN" + json.dumps(plan).encode())  # IHostMemory: a buffer, not bytes


class _Context:
    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addr: dict[str, int] = {}

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        _rec("set_input_shape", name, tuple(shape))
        if name not in self.engine.profile:
            return False
        lo, hi = self.engine.profile[name]
        if len(shape) != len(lo) or not all(a <= d <= b for a, d, b in zip(lo, shape, hi, strict=True)):
            return False  # outside the built profile: TensorRT refuses it
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.shapes[self.engine.pairs[name]]

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        _rec("set_tensor_address", name)
        if name not in self.engine.names:
            return False
        self.addr[name] = ptr
        return True

    def execute_async_v3(self, stream: int) -> bool:
        _rec("execute_async_v3", stream)
        if set(self.engine.names) - set(self.addr) or set(self.engine.pairs.values()) - set(self.shapes):
            return False  # an I/O tensor without an address, or an input without a shape
        for out, inp in self.engine.pairs.items():
            n = int(np.prod(self.shapes[inp]))
            x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addr[inp]))
            y = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addr[out]))
            y[:] = 2 * x
        return True


class _Engine:
    def __init__(self, plan: bytes) -> None:
        data = json.loads(bytes(plan[len(b"FAKEPLAN") :]))
        names = data["inputs"]
        self.profile = {n: (tuple(lo), tuple(hi)) for n, (lo, hi) in data["profile"].items()}
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
        data = bytes(memoryview(data))  # any buffer, as TensorRT takes
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


def plan(profile: dict[str, tuple[tuple[int, ...], tuple[int, ...]]]) -> bytes:
    """A fake plan whose inputs have these (min shape, max shape) profiles, as a test writes it to disk."""
    data = {"inputs": list(profile), "profile": {n: [list(lo), list(hi)] for n, (lo, hi) in profile.items()}}
    return b"FAKEPLAN" + json.dumps(data).encode()


def names() -> list[str]:
    return [c[0] for c in CALLS]
