"""`open_model_engine`: a stage's model behind the engine `select_runtime` picked (Note [Stage engines]).

Note [Stage engines]: a stage asks for its graph with a `runtime` setting from its profile section:
  * `auto`: TensorRT when its engine is cached for this GPU (Note [Runtime selection]), else torch on the
    stage's device at the stage's precision;
  * `tensorrt`: TensorRT or StageUnavailable saying which `engines build` command makes the engine;
  * `onnxruntime`: ONNX Runtime on the CPU from the exported ONNX file (a CPU stage only), or
    StageUnavailable with the export command;
  * `torch`: the module itself.
Whatever runs it, the stage calls `engine(*inputs)` with torch tensors on its device and gets a tuple of
torch tensors back on that device. TensorRT's profile bounds the batch: larger calls are split along dim 0
(every graph we build maps output row i to input row i per input, so splitting each input into the same
number of parts and concatenating the outputs is exact). Inputs whose item shape differs from the graph's
static shape (a short CoTracker window, another model_size) run through the torch module instead; `name`
stays the picked engine's, `last_ran` names what ran the latest call and `fallback_calls` counts the
fallbacks, so a stage records what really scored each clip (`EngineUse`: "tensorrt-...+torch-cuda-fp16" and
`StageResult.fallback_calls` when a clip's calls were split between them).
Inputs are moved to the engine's device first: a CUDA worker whose source fell back to CPU decoding hands
host frames, which TensorRT would reject (it binds device addresses).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..stages._api import StageUnavailable
from ._runtime import RuntimeChoice, select_runtime
from ._select import TorchEngine
from ._specs import GraphSpec, SpecError, find_graph, load_specs

RUNTIMES = ("auto", "tensorrt", "torch", "onnxruntime")
log = logging.getLogger(__name__)


def _as_torch(y: Any, device: torch.device) -> torch.Tensor:
    if isinstance(y, np.ndarray):
        return torch.from_numpy(y).to(device)
    return y if y.device == device else y.to(device)


class ModelEngine:
    """One graph run by `choice`'s engine; torch tensors in and out on `device` (Note [Stage engines])."""

    def __init__(
        self,
        choice: RuntimeChoice,
        module: torch.nn.Module,
        device: torch.device,
        graph: GraphSpec | None,
    ) -> None:
        self.choice = choice
        self.device = device
        self.torch = TorchEngine(module, device, choice.precision if device.type == "cuda" else "fp32")
        self.engine: Any = self.torch if choice.kind == "torch" else choice.open(module)
        self.graph = graph
        self.calls = 0  #: calls of this object (one per stage call, however many parts it was split into)
        self.fallback_calls = 0  #: of those, calls the torch module ran instead of the picked engine
        self.last_ran = ""  #: name of what ran the latest call: `name`, or the torch fallback's name

    @property
    def name(self) -> str:
        return self.choice.name

    def fits(self, inputs: Sequence[torch.Tensor]) -> bool:
        """Whether every input has the graph's static item shape (always true for the torch engine)."""
        if self.choice.kind == "torch" or self.graph is None:
            return True
        return len(inputs) == len(self.graph.inputs) and all(
            tuple(x.shape[1:]) == spec.shape for x, spec in zip(inputs, self.graph.inputs, strict=True)
        )

    def parts(self, inputs: Sequence[torch.Tensor]) -> int:
        """How many calls the batch needs: 1 below the TensorRT profile's max batch of every input."""
        if self.choice.kind != "tensorrt" or self.graph is None:
            return 1
        return max(
            math.ceil(x.shape[0] / spec.batch.max) for x, spec in zip(inputs, self.graph.inputs, strict=True)
        )

    @property
    def fallback_name(self) -> str:
        """What runs the calls whose item shapes the picked engine does not take."""
        return self.torch.name

    def __call__(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        inputs = tuple(x.to(self.device, non_blocking=True) for x in inputs)
        self.calls += 1
        if not self.fits(inputs):
            self.fallback_calls += 1
            self.last_ran = self.fallback_name
            return self._run(self.torch, inputs)
        self.last_ran = self.name
        k = self.parts(inputs)
        if k == 1:
            return self._run(self.engine, inputs)
        chunks = [
            self._run(self.engine, part) for part in zip(*(x.tensor_split(k) for x in inputs), strict=True)
        ]
        return tuple(torch.cat(outs) for outs in zip(*chunks, strict=True))

    def _run(self, engine: Any, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        out = engine(*inputs)
        outs = (out,) if isinstance(out, torch.Tensor) else tuple(out)
        return tuple(_as_torch(y, self.device) for y in outs)


@dataclass
class EngineUse:
    """What ran a clip's (or a batch's) model calls: engine names in first-use order, and fallbacks."""

    names: list[str] = field(default_factory=list)
    fallback_calls: int = 0  #: calls that ran on the torch fallback (ModelEngine.fallback_calls' share)

    def add(self, engine: ModelEngine) -> None:
        """Counts `engine`'s latest call."""
        if engine.last_ran not in self.names:
            self.names.append(engine.last_ran)
        self.fallback_calls += engine.last_ran != engine.name

    def merge(self, other: EngineUse) -> None:
        self.names.extend(n for n in other.names if n not in self.names)
        self.fallback_calls += other.fallback_calls

    def label(self, default: str) -> str:
        """'+'-joined names of what ran, or `default` (the picked engine's name) when nothing ran."""
        return "+".join(self.names) if self.names else default


def open_model_engine(
    graph_name: str,
    module: torch.nn.Module,
    device: torch.device,
    precision: str,
    runtime: str = "auto",
    *,
    weights_tag: str,
    out: str | Path | None = None,
) -> ModelEngine:
    """The engine for `graph_name` on `device` per Note [Stage engines]; raises StageUnavailable when the
    asked-for runtime cannot run here (the message says which command fixes it)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}; allowed: {', '.join(RUNTIMES)}")
    graph: GraphSpec | None
    try:
        specs = load_specs()
        graph = find_graph(specs, graph_name)
    except SpecError as exc:
        if runtime in ("tensorrt", "onnxruntime"):
            raise StageUnavailable(
                f"runtime {runtime!r} needs an engine spec: {exc}", "use runtime = 'auto'"
            ) from exc
        graph = None  # no spec for this graph (a model variant we do not export): torch runs it
    if runtime == "torch" or graph is None:
        return _torch_choice(graph_name, module, device, precision, graph)
    model = specs[graph.model].name
    mode = weights_tag if weights_tag in ("random", "tiny") else "official"  # `build --weights` takes modes
    build = f"python -m talkvid_fast.engines build --models {graph.name} --weights {mode}"
    if runtime == "onnxruntime":
        if device.type != "cpu":
            raise StageUnavailable(
                f"runtime 'onnxruntime' runs on the CPU; this stage runs on {device}", "use runtime = 'auto'"
            )
        choice = select_runtime(
            graph.name, "cpu", out=out, weights_tag=weights_tag, cpu="onnxruntime", specs=specs
        )
        if choice.kind != "onnxruntime":
            raise StageUnavailable(f"{model}: {choice.reason}", f"run `{build} --export-only`")
        return ModelEngine(choice, module, device, graph)
    if device.type == "cpu":
        return _torch_choice(graph_name, module, device, precision, graph)
    choice = select_runtime(graph.name, str(device), precision, out=out, weights_tag=weights_tag, specs=specs)
    if runtime == "tensorrt" and choice.kind != "tensorrt":
        raise StageUnavailable(
            f"{model}: no TensorRT engine ({choice.reason})", f"run `{build} --precision {precision}`"
        )
    if choice.kind != "tensorrt":  # a GPU run on torch: say once why TensorRT was not taken
        log.warning("%s runs on %s: %s", graph.name, choice.name, choice.reason)
    return ModelEngine(choice, module, device, graph)


def _torch_choice(
    graph_name: str, module: torch.nn.Module, device: torch.device, precision: str, graph: GraphSpec | None
) -> ModelEngine:
    prec = precision if device.type == "cuda" else "fp32"
    choice = RuntimeChoice("torch", f"torch-{device.type}-{prec}", str(device), prec, graph_name)
    return ModelEngine(choice, module, device, graph)
