"""The TensorRT 10 module against a recording fake `tensorrt` (tests/engines/fake_tensorrt.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from talkvid_fast.engines import _tensorrt
from talkvid_fast.engines._tensorrt import (
    TensorRTBuildError,
    TensorRTUnavailable,
    TrtEngine,
    build_engine,
    require_tensorrt,
    tensorrt_version,
)

from . import fake_tensorrt as fake

PROFILE = [("tech_view", (3, 3, 8), (24, 3, 8), (48, 3, 8)), ("aes_view", (1, 3, 8), (8, 3, 8), (16, 3, 8))]


@pytest.fixture
def onnx_file(tmp_path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["b", 3, 8]) for n in ("tech_view", "aes_view")]
    y = [
        helper.make_tensor_value_info(f"{n}_out", TensorProto.FLOAT, ["b", 3, 8])
        for n in ("tech_view", "aes_view")
    ]
    nodes = [helper.make_node("Identity", [i.name], [o.name]) for i, o in zip(x, y, strict=True)]
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", x, y)), str(path))
    return path


def test_absent_tensorrt_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import raises ImportError
    with pytest.raises(TensorRTUnavailable, match=r"TensorRT is not installed.*pip install tensorrt-cu12"):
        require_tensorrt()
    assert tensorrt_version() is None
    with pytest.raises(TensorRTUnavailable):
        build_engine(Path("x.onnx"), PROFILE, "fp16")


def test_old_tensorrt_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake.install(monkeypatch, version="8.6.1")
    with pytest.raises(TensorRTUnavailable, match=r"TensorRT 8\.6\.1 found; this module needs TensorRT 10"):
        require_tensorrt()


@pytest.mark.parametrize("precision, flag", [("fp16", "FP16"), ("bf16", "BF16"), ("fp32", None)])
def test_build_calls_the_trt10_api(
    monkeypatch: pytest.MonkeyPatch, onnx_file: Path, tmp_path: Path, precision: str, flag: str | None
) -> None:
    fake.install(monkeypatch)
    timing = tmp_path / "gpu" / "timing.cache"
    plan = build_engine(onnx_file, PROFILE, precision, timing, fp32_ops=("LayerNormalization",))
    assert plan.startswith(b"FAKEPLAN")
    names = fake.names()
    order = ["Builder", "create_network", "OnnxParser", "parse_from_file", "create_builder_config",
             "create_optimization_profile", "set_shape", "add_optimization_profile", "create_timing_cache",
             "set_timing_cache", "build_serialized_network"]  # fmt: skip
    assert [n for n in names if n in order and n != "set_shape"] == [n for n in order if n != "set_shape"]
    assert ("create_network", (0,)) in fake.CALLS  # explicit batch: no flags in TRT 10
    shapes = [c[1] for c in fake.CALLS if c[0] == "set_shape"]
    assert shapes == [(n, lo, opt, hi) for n, lo, opt, hi in PROFILE]
    flags = {c[1][0].name for c in fake.CALLS if c[0] == "set_flag"}
    built = json.loads(plan[len(b"FAKEPLAN") :])["flags"]  # the config's flags when the build ran
    if flag is None:
        assert flags == set()  # fp32: no reduced precision, nothing pinned
        assert built == [] and ("clear_flag", (fake.BuilderFlag.TF32,)) in fake.CALLS  # TF32 off: true fp32
    else:
        assert flags == {flag, "PREFER_PRECISION_CONSTRAINTS"}
        assert sorted(built) == sorted([flag, "PREFER_PRECISION_CONSTRAINTS", "TF32"])
    assert ("create_timing_cache", (b"",)) in fake.CALLS and ("set_timing_cache", (False,)) in fake.CALLS
    assert timing.read_bytes() == b"+timed"  # saved after the build
    fake.CALLS.clear()
    build_engine(onnx_file, PROFILE, precision, timing)
    assert ("create_timing_cache", (b"+timed",)) in fake.CALLS  # loaded before the next build


def test_fp32_ops_pin_only_their_layers(monkeypatch: pytest.MonkeyPatch, onnx_file: Path) -> None:
    trt = fake.install(monkeypatch)
    net = trt._Network()
    config = trt._Config()
    assert _tensorrt._pin_fp32(trt, net, config, ["Softmax"]) == 1
    assert [(lyr.type.name, lyr.precision, lyr.out_types) for lyr in net.layers] == [
        ("CONVOLUTION", None, {}),
        ("NORMALIZATION", None, {}),
        ("SOFTMAX", "f32", {0: "f32"}),
    ]


def test_build_errors(monkeypatch: pytest.MonkeyPatch, onnx_file: Path) -> None:
    fake.install(monkeypatch)
    with pytest.raises(ValueError, match="allowed: fp32, fp16, bf16"):
        build_engine(onnx_file, PROFILE, "int8")
    with pytest.raises(
        TensorRTBuildError, match=r"has no input 'video'; inputs: \['aes_view', 'tech_view'\]"
    ):
        build_engine(onnx_file, [("video", (1,), (1,), (1,))], "fp16")
    fake.OnnxParser.fail = True
    with pytest.raises(TensorRTBuildError, match=r"ONNX parser failed .*Einsum"):
        build_engine(onnx_file, PROFILE, "fp16")


def test_runtime_binds_torch_tensors(
    monkeypatch: pytest.MonkeyPatch, onnx_file: Path, tmp_path: Path
) -> None:
    fake.install(monkeypatch)
    plan_file = tmp_path / "g.engine"
    plan_file.write_bytes(build_engine(onnx_file, PROFILE, "fp16"))
    fake.CALLS.clear()
    engine = TrtEngine(
        plan_file, device="cpu", name="tensorrt-fake"
    )  # CPU memory: the fake reads it directly
    assert engine.input_names == ["tech_view", "aes_view"]
    assert engine.output_names == ["tech_view_out", "aes_view_out"]
    tech = torch.arange(3 * 3 * 8, dtype=torch.float64).reshape(3, 3, 8)  # converted to the engine's float32
    aes = torch.ones(4, 8, 3).transpose(1, 2)  # not contiguous: made contiguous before binding
    y_tech, y_aes = engine(tech, aes)
    assert y_tech.dtype == torch.float32 and y_tech.shape == (3, 3, 8)
    assert torch.equal(y_tech, 2 * tech.float()) and torch.equal(y_aes, 2 * aes)
    names = fake.names()
    assert (
        names[:3] == ["Logger", "Runtime", "deserialize_cuda_engine"] and "create_execution_context" in names
    )
    assert ("set_input_shape", ("tech_view", (3, 3, 8))) in fake.CALLS
    assert names.count("set_tensor_address") == 4 and names[-1] == "execute_async_v3"
    for big, small in [(49, 1), (2, 1), (3, 17)]:  # PROFILE: tech batch 3..48, aes 1..16
        with pytest.raises(ValueError, match="outside the engine's profile"):
            engine(torch.zeros(big, 3, 8), torch.zeros(small, 3, 8))
    with pytest.raises(ValueError, match=r"expected inputs \['tech_view', 'aes_view'\]"):
        engine(tech)
    with pytest.raises(TensorRTBuildError, match="could not deserialize"):
        TrtEngine(b"garbage", device="cpu")
