"""select_runtime (Note [Runtime selection]) with TensorRT, the GPU and the cache monkeypatched."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from talkvid_fast.engines import _runtime
from talkvid_fast.engines._cache import EngineKey, GpuInfo, onnx_path, save_engine
from talkvid_fast.engines._runtime import select_runtime
from talkvid_fast.engines._specs import SpecError, find_graph, load_specs

H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))


@pytest.fixture
def cuda_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretends torch sees an H100 (cuda:0) and TensorRT 10.3.0 imports."""
    monkeypatch.setattr(
        _runtime, "pick_device", lambda d: torch.device("cuda", 0) if d != "cpu" else torch.device("cpu")
    )
    monkeypatch.setattr(_runtime, "current_gpu", lambda d=0: H100)
    monkeypatch.setattr(_runtime, "_tensorrt_version", lambda: "10.3.0")


def _export(root: Path, graph: str = "dover", tag: str = "DOVER", data: bytes = b"onnx") -> Path:
    path = onnx_path(root, graph, tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _build(
    root: Path, onnx: Path, graph: str = "dover", precision: str = "fp16", gpu: GpuInfo = H100
) -> Path:
    specs = load_specs()
    g = find_graph(specs, graph)
    from talkvid_fast.engines._cache import onnx_sha256

    key = EngineKey.make(g, gpu, "10.3.0", onnx_sha256(onnx), precision, specs[g.model].fp32_ops)
    return save_engine(root, key, b"plan")


def test_cpu(tmp_path: Path) -> None:
    c = select_runtime("dover", "cpu", out=tmp_path)
    assert (c.kind, c.name, c.precision, c.device) == ("torch", "torch-cpu-fp32", "fp32", "cpu")
    assert "bf16 needs CUDA" in select_runtime("dover", "cpu", "bf16", out=tmp_path).reason
    c = select_runtime("dover", "cpu", cpu="onnxruntime", out=tmp_path)
    assert c.kind == "torch" and "no ONNX export" in c.reason
    onnx = _export(tmp_path)
    c = select_runtime("dover", "cpu", cpu="onnxruntime", out=tmp_path)
    assert (c.kind, c.name, c.onnx) == ("onnxruntime", "onnxruntime-cpu", onnx)
    with pytest.raises(ValueError, match="allowed: torch, onnxruntime"):
        select_runtime("dover", "cpu", cpu="tflite")
    with pytest.raises(SpecError, match="allowed: fp16, bf16, fp32"):
        select_runtime("dover", "cpu", "int8")
    with pytest.raises(SpecError, match="unknown engine graph"):
        select_runtime("dovr", "cpu")


def test_cuda_without_tensorrt(tmp_path: Path, cuda_here: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runtime, "_tensorrt_version", lambda: None)
    _build(tmp_path, _export(tmp_path))
    c = select_runtime("dover", "auto", out=tmp_path)
    assert (c.kind, c.name, c.device, c.reason) == (
        "torch",
        "torch-cuda-fp16",
        "cuda:0",
        "TensorRT is not installed",
    )
    assert select_runtime("dover", "cuda:0", "bf16", out=tmp_path).name == "torch-cuda-bf16"


def test_cuda_picks_a_matching_engine(tmp_path: Path, cuda_here: None) -> None:
    c = select_runtime("dover", "auto", out=tmp_path)
    assert c.kind == "torch" and "no ONNX export" in c.reason and "engines build --models dover" in c.reason
    onnx = _export(tmp_path)
    c = select_runtime("dover", "auto", out=tmp_path)
    assert c.kind == "torch" and "no fp16 engine for NVIDIA_H100_80GB_HBM3_sm90 / TensorRT 10.3.0" in c.reason
    _build(tmp_path, onnx, gpu=GpuInfo("NVIDIA A100-SXM4-80GB", (8, 0)))  # another GPU kind: not usable here
    _build(tmp_path, onnx, precision="fp32")  # another precision
    assert select_runtime("dover", "auto", out=tmp_path).kind == "torch"
    engine = _build(tmp_path, onnx)
    c = select_runtime("dover", "auto", out=tmp_path)
    assert (c.kind, c.name, c.engine, c.onnx, c.reason) == (
        "tensorrt",
        "tensorrt-10.3.0-fp16",
        engine,
        onnx,
        "",
    )
    assert select_runtime("dover", "auto", "fp32", out=tmp_path).kind == "tensorrt"
    assert select_runtime("dover", "auto", "bf16", out=tmp_path).kind == "torch"
    # a re-export with other weights changes the ONNX hash: the old engine is stale
    onnx.write_bytes(b"onnx from DOVER++ weights")
    assert select_runtime("dover", "auto", out=tmp_path).kind == "torch"
    # other weights tags look for their own export
    assert "dover-random.onnx" in select_runtime("dover", "auto", weights_tag="random", out=tmp_path).reason


def test_open(tmp_path: Path) -> None:
    choice = select_runtime("facemesh", "cpu", out=tmp_path)
    module = torch.nn.Linear(2, 1)
    engine = choice.open(module)
    assert engine.name == "torch-cpu-fp32" and engine(torch.zeros(3, 2)).shape == (3, 1)
    with pytest.raises(ValueError, match="pass it to open"):
        choice.open()
