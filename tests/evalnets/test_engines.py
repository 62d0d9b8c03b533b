"""The evaluation networks on the engine layer (Note [Evaluation networks on the engine layer]): the registered
exports match engines/*.toml, and ONNX Runtime running the exported graph through the loaders' classes gives
the torch module's output on identical random weights (BatchNorm statistics randomised too), within max
relative error 1e-5 (max |ort - torch| / max |torch|) in fp32; measured about 2e-7 (Inception, I3D) and
1e-6 (SyncNet) on a 2-core Xeon CPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import onnx
import pytest
import torch

from talkvid_fast.engines._cache import onnx_path
from talkvid_fast.engines._exporters import export_graph
from talkvid_fast.engines._specs import find_graph, load_specs
from talkvid_fast.evalnets import (
    FIDInception,
    I3DFeatures,
    InceptionFeatures,
    InceptionI3d,
    StyleGANVDetector,
    SyncNet,
    SyncNetEmbedder,
)
from talkvid_fast.evalnets.export import GRAPH_IO, export_i3d, export_inception, export_syncnet

TOL = 1e-5
M = TypeVar("M", bound=torch.nn.Module)
GRAPHS = ["inception_fid", "syncnet_v2_audio", "syncnet_v2_lip", "i3d_videogpt"]


def _random_bn(net: M) -> M:
    """Non-trivial BatchNorm statistics and affine terms, so a folding error shows."""
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d | torch.nn.BatchNorm3d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)  # type: ignore[union-attr]
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)  # type: ignore[union-attr]
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return net.eval()


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    assert got.shape == want.shape
    return float((got - want).abs().max() / want.abs().max())


def test_specs_name_the_exported_io() -> None:
    specs = load_specs()
    for name in GRAPHS:
        g = find_graph(specs, name)
        assert (tuple(i.name for i in g.inputs), g.outputs) == GRAPH_IO[name]
        assert specs[g.model].default_precision == "fp32"  # metrics: Note [Metrics in fp32]


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each graph exported by `engines build`'s exporter registry (random weights, full spec shapes)."""
    out = tmp_path_factory.mktemp("engines")
    specs = load_specs()
    files = {}
    for name in GRAPHS:
        g = find_graph(specs, name)
        files[name] = export_graph(specs[g.model], g, onnx_path(out, name, "random"), "random")
    return files


@pytest.mark.parametrize("name", GRAPHS)
def test_registered_export_matches_its_spec(registered: dict[str, Path], name: str) -> None:
    g = find_graph(load_specs(), name)
    graph = onnx.load(str(registered[name]), load_external_data=False).graph
    assert [i.name for i in graph.input] == [i.name for i in g.inputs]
    assert [o.name for o in graph.output] == list(g.outputs)
    for vi, spec_input in zip(graph.input, g.inputs, strict=True):
        dims = vi.type.tensor_type.shape.dim
        assert dims[0].dim_param and tuple(d.dim_value for d in dims[1:]) == spec_input.shape
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param  # output row i from input row i


def _inception(tmp: Path) -> tuple[Any, Any, Callable[[Any], torch.Tensor]]:
    torch.manual_seed(0)
    net = _random_bn(FIDInception())
    export_inception(net, onnx_path(tmp, "inception_fid", "test"))
    frames = torch.randint(0, 256, (3, 64, 80, 3), dtype=torch.uint8)  # batch 3: not the traced 2
    ort = InceptionFeatures(net, runtime="onnxruntime", weights_tag="test", engines=tmp)
    return InceptionFeatures(net, runtime="torch"), ort, lambda f: f(frames)


def _i3d(tmp: Path) -> tuple[Any, Any, Callable[[Any], torch.Tensor]]:
    torch.manual_seed(0)
    net = _random_bn(InceptionI3d())
    export_i3d(net, onnx_path(tmp, "i3d_videogpt", "test"))
    clips = torch.randint(0, 256, (1, 16, 64, 80, 3), dtype=torch.uint8)  # the evaluator's 16-frame window
    ort = I3DFeatures(net, runtime="onnxruntime", weights_tag="test", engines=tmp)
    return I3DFeatures(net, runtime="torch"), ort, lambda f: f(clips)


def _syncnet(tmp: Path, tower: str) -> tuple[Any, Any, Callable[[Any], torch.Tensor]]:
    torch.manual_seed(0)
    net = _random_bn(SyncNet())
    for t in ("audio", "lip"):
        export_syncnet(net, t, onnx_path(tmp, f"syncnet_v2_{t}", "test"))
    crops = torch.randint(0, 256, (7, 224, 224, 3), dtype=torch.uint8)  # 3 windows
    wav = (np.random.default_rng(0).standard_normal(8000) * 3000).astype(np.int16)  # 8 windows
    ort = SyncNetEmbedder(net, runtime="onnxruntime", weights_tag="test", engines=tmp)
    run = (lambda e: e.audio_embeddings(wav)) if tower == "audio" else (lambda e: e.video_embeddings(crops))
    return SyncNetEmbedder(net, runtime="torch"), ort, run


@pytest.mark.parametrize("name", GRAPHS)
def test_onnx_runtime_matches_torch(tmp_path: Path, name: str) -> None:
    if name.startswith("syncnet"):
        ref, ort, run = _syncnet(tmp_path, name.rsplit("_", 1)[1])
    else:
        ref, ort, run = (_inception if name == "inception_fid" else _i3d)(tmp_path)
    want, got = run(ref), run(ort)
    engine = ort.audio_engine if name.endswith("audio") else ort.lip_engine if "lip" in name else ort.engine
    assert (engine.name, engine.last_ran, engine.fallback_calls) == ("onnxruntime-cpu", "onnxruntime-cpu", 0)
    assert float(want.abs().max()) > 1e-3  # not a vanished signal
    assert _rel(got, want) <= TOL


def test_runtime_choices_fail_fast() -> None:
    net = InceptionI3d()
    assert I3DFeatures(net).engine.name == "torch-cpu-fp32"
    with pytest.raises(ValueError, match="allowed: auto, tensorrt, torch, onnxruntime"):
        I3DFeatures(net, runtime="trt")
    with pytest.raises(
        ValueError, match="runtime 'tensorrt' needs a CUDA device, not cpu; allowed on the CPU"
    ):
        I3DFeatures(net, runtime="tensorrt", weights_tag="random")
    with pytest.raises(ValueError, match="needs the weights_tag of its export"):
        I3DFeatures(net, runtime="onnxruntime")
    script = StyleGANVDetector(torch.nn.Identity())
    with pytest.raises(ValueError, match=r"TorchScript file, run by torch only.*allowed: auto, torch"):
        I3DFeatures(script, runtime="tensorrt", weights_tag="x")
    assert I3DFeatures(script).engine.name == "torch-cpu-fp32"
