"""open_model_engine / ModelEngine (Note [Stage engines]): runtime choice, batch splitting inside the TensorRT
profile (against the recording fake), the torch fallback for other item shapes, and the clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from talkvid_fast.engines import EngineUse, ModelEngine, RuntimeChoice, _runtime, open_model_engine
from talkvid_fast.engines._cache import GpuInfo
from talkvid_fast.engines._specs import BatchRange, GraphSpec, InputSpec
from talkvid_fast.stages import StageUnavailable

from . import fake_tensorrt as fake

H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))


class Twice(torch.nn.Module):
    """What the fake engine computes (y = 2x per input), as a torch module."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return 2 * a, 2 * b


GRAPH = GraphSpec(
    "pair",
    "pair",
    "pair.pth",
    (InputSpec("a", (3,), BatchRange(1, 2, 4)), InputSpec("b", (2,), BatchRange(1, 1, 2))),
    ("a_out", "b_out"),
)


def _trt_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelEngine:
    fake.install(monkeypatch)
    plan = tmp_path / "pair.engine"
    plan.write_bytes(fake.plan({"a": ((1, 3), (4, 3)), "b": ((1, 2), (2, 2))}))  # GRAPH's profile
    choice = RuntimeChoice("tensorrt", "tensorrt-10.3.0-fp32", "cpu", "fp32", "pair", engine=plan)
    return ModelEngine(choice, Twice(), torch.device("cpu"), GRAPH)


def test_batches_are_split_inside_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _trt_engine(tmp_path, monkeypatch)
    a, b = torch.arange(30.0).reshape(10, 3), torch.arange(10.0).reshape(5, 2)
    ya, yb = engine(a, b)
    assert torch.equal(ya, 2 * a) and torch.equal(yb, 2 * b)
    shapes = [c[1] for c in fake.CALLS if c[0] == "set_input_shape"]
    assert fake.names().count("execute_async_v3") == 3  # ceil(10 / 4) = ceil(5 / 2) = 3 calls
    assert all(s[0] <= {"a": 4, "b": 2}[n] for n, s in shapes)
    assert sum(s[0] for n, s in shapes if n == "a") == 10 and engine.fallback_calls == 0
    fake.CALLS.clear()
    ya, _ = engine(a[:4], b[:2])  # inside the profile: one call
    assert torch.equal(ya, 2 * a[:4]) and fake.names().count("execute_async_v3") == 1


def test_other_item_shapes_run_through_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _trt_engine(tmp_path, monkeypatch)
    a, b = torch.ones(2, 5), torch.ones(2, 2)  # a's items are (5,), the graph's (3,)
    ya, yb = engine(a, b)
    assert torch.equal(ya, 2 * a) and torch.equal(yb, 2 * b)
    assert engine.fallback_calls == 1 and "execute_async_v3" not in fake.names()
    assert engine.name == "tensorrt-10.3.0-fp32"
    # what ran is reported call by call, so a record can say it (was: always the picked engine's name)
    assert engine.last_ran == "torch-cpu-fp32" and engine.calls == 1
    use = EngineUse()
    use.add(engine)
    engine(torch.ones(2, 3), torch.ones(1, 2))  # the graph's shapes: TensorRT runs it
    assert engine.last_ran == "tensorrt-10.3.0-fp32" and engine.fallback_calls == 1
    use.add(engine)
    assert use.label("x") == "torch-cpu-fp32+tensorrt-10.3.0-fp32" and use.fallback_calls == 1
    assert EngineUse().label("tensorrt-10.3.0-fp32") == "tensorrt-10.3.0-fp32"


def test_host_inputs_reach_a_device_engine_on_its_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CUDA stage whose source fell back to CPU decoding hands host tensors to its engine; TrtEngine binds
    device addresses and rejects them, so ModelEngine moves them first. `meta` stands in for the GPU (the
    real TrtEngine device check runs; the fake's execute, which reads memory, is replaced)."""
    fake.install(monkeypatch)
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(
        fake._Context,
        "execute_async_v3",
        lambda self, stream: ran.append(tuple(self.shapes)) or True,  # type: ignore[func-returns-value]
    )
    plan = tmp_path / "pair.engine"
    plan.write_bytes(fake.plan({"a": ((1, 3), (4, 3)), "b": ((1, 2), (2, 2))}))  # GRAPH's profile
    meta = torch.device("meta")
    choice = RuntimeChoice("tensorrt", "tensorrt-10.3.0-fp32", "meta", "fp32", "pair", engine=plan)
    engine = ModelEngine(choice, Twice(), meta, GRAPH)
    ya, yb = engine(torch.ones(2, 3), torch.ones(1, 2))  # host tensors, as PyAV delivers them
    assert ran == [("a", "b")] and ya.device == yb.device == meta and tuple(ya.shape) == (2, 3)


def test_cpu_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    cpu = torch.device("cpu")
    for runtime in ("auto", "torch"):
        engine = open_model_engine("dover", Twice(), cpu, "fp16", runtime, weights_tag="DOVER")
        assert engine.name == "torch-cpu-fp32"  # the CPU runs fp32 whatever the profile asks
    with pytest.raises(
        StageUnavailable, match=r"engines build --models dover --weights official --export-only"
    ):
        open_model_engine("dover", Twice(), cpu, "fp32", "onnxruntime", weights_tag="DOVER")
    with pytest.raises(ValueError, match="allowed: auto, tensorrt, torch, onnxruntime"):
        open_model_engine("dover", Twice(), cpu, "fp32", "tflite", weights_tag="DOVER")
    # on a GPU without a built engine, `tensorrt` says which build command makes it
    monkeypatch.setattr(_runtime, "pick_device", lambda d: torch.device("cuda", 0))
    monkeypatch.setattr(_runtime, "current_gpu", lambda d=0: H100)
    monkeypatch.setattr(_runtime, "_tensorrt_version", lambda: "10.3.0")
    with pytest.raises(
        StageUnavailable,
        match=r"no TensorRT engine.*engines build --models dover --weights official --precision fp16",
    ):
        open_model_engine("dover", Twice(), torch.device("cuda", 0), "fp16", "tensorrt", weights_tag="DOVER")
    # a graph without a spec (a model variant we do not export) runs through torch under auto
    assert open_model_engine("no_such_graph", Twice(), cpu, "fp32", weights_tag="x").name == "torch-cpu-fp32"
