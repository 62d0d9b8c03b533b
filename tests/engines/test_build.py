"""`python -m talkvid_fast.engines build|list` on the CPU: the real ONNX export of every model (tiny forms),
then the clear TensorRT error; then the TensorRT step against the recording fake (tests/engines/fake_tensorrt.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from talkvid_fast.engines import _runtime, build
from talkvid_fast.engines.__main__ import main
from talkvid_fast.engines._cache import GpuInfo, list_engines, timing_cache_path
from talkvid_fast.engines._exporters import graphs_for
from talkvid_fast.engines._specs import load_specs, select_graphs

from . import fake_tensorrt as fake

H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))


def _facemesh_fetched() -> bool:
    from talkvid_fast.head.weights import FACEMESH
    from talkvid_fast.weights import WeightsMissing, locate

    try:
        return all(locate(FACEMESH, f.name) for f in FACEMESH.files)
    except WeightsMissing:
        return False


def _check_onnx(out: Path, models: str) -> int:
    """Every exported file has the spec's (tiny) inputs: dynamic dim 0, static rest; returns the count."""
    specs = load_specs()
    n = 0
    for spec, graphs in select_graphs(specs, models):
        for g in graphs_for(spec, "tiny", {x.name for x in graphs}):
            files = list((out / "onnx").glob(f"{g.name}-*.onnx"))
            assert len(files) == 1, (g.name, files)
            graph = onnx.load(str(files[0]), load_external_data=False).graph
            assert [i.name for i in graph.input] == [i.name for i in g.inputs]
            assert [o.name for o in graph.output] == list(g.outputs)
            for vi, spec_input in zip(graph.input, g.inputs, strict=True):
                dims = vi.type.tensor_type.shape.dim
                assert dims[0].dim_param and tuple(d.dim_value for d in dims[1:]) == spec_input.shape
            n += 1
    return n


def test_build_on_cpu_then_with_tensorrt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models = "dover,cotracker3_paper" + (",facemesh" if _facemesh_fetched() else "")
    argv = ["build", "--weights", "tiny", "--models", models, "--out", str(tmp_path)]
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # absent, whatever this machine has
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "engines not built. TensorRT is not installed" in err and "pip install tensorrt-cu12" in err
    n = _check_onnx(tmp_path, models)
    assert n == len(models.split(",")) + ("facemesh" in models)  # facemesh: detector + landmarks

    # the TensorRT step, against the fake: a GPU is pretended, the ONNX files above are reused
    fake.install(monkeypatch)
    monkeypatch.setattr(build, "current_gpu", lambda device=0: H100)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("built ") == len(list_engines(tmp_path)) == n
    assert out.count(": reusing ") == n and " -> " not in out  # no re-export
    assert fake.names().count("build_serialized_network") == len(list_engines(tmp_path))
    assert ("set_flag", (fake.BuilderFlag.FP16,)) in fake.CALLS  # every spec defaults to fp16
    dover = next(e for e in list_engines(tmp_path) if e["graph"] == "dover")
    assert dover["fp32_ops"] == ["LayerNormalization", "Softmax"] and dover["weights_tag"] == "tiny"
    assert timing_cache_path(tmp_path, H100, "10.3.0").read_bytes().endswith(b"+timed")
    fake.CALLS.clear()
    assert main(argv) == 0  # cached: nothing rebuilt
    assert "cached " in capsys.readouterr().out and "build_serialized_network" not in fake.names()
    assert main([*argv[:-2], "--precision", "fp32", "--out", str(tmp_path)]) == 0
    assert len(list_engines(tmp_path)) == 2 * n

    # the runtime picks the engine on that (pretended) GPU; DOVER's tiny graph has the spec's profile
    monkeypatch.setattr(_runtime, "pick_device", lambda d: __import__("torch").device("cuda", 0))
    monkeypatch.setattr(_runtime, "current_gpu", lambda d=0: H100)
    choice = _runtime.select_runtime("dover", "cuda:0", weights_tag="tiny", out=tmp_path)
    assert (choice.kind, choice.name) == ("tensorrt", "tensorrt-10.3.0-fp16")
    assert main(["list", "--out", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "built engines: " in listing and "dover fp16 NVIDIA H100 80GB HBM3 sm90 TensorRT 10.3.0" in listing


def test_build_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["build", "--models", "dover,sam2", "--out", str(tmp_path)]) == 2
    assert "unknown models ['sam2']; allowed:" in capsys.readouterr().err
    monkeypatch.setenv("TALKVID_FAST_ENGINE_SPECS", str(tmp_path / "specs"))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "m.toml").write_text(
        'name = "dover"\nweights = "dover"\nprecision = ["fp32"]\n[[graph]]\nname = "dover"\n'
        'weights_file = "DOVER.pth"\noutputs = ["technical"]\n'
        "[graph.inputs]\ntech_view = { shape = [3, 32, 224, 224], batch = { min = 1, opt = 1, max = 1 } }\n"
    )
    assert main(["build", "--precision", "fp16", "--out", str(tmp_path)]) == 2
    assert "dover: precision 'fp16' not allowed; allowed: fp32" in capsys.readouterr().err
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))  # no weights there
    assert main(["build", "--export-only", "--out", str(tmp_path)]) == 1
    assert "python -m talkvid_fast.weights fetch dover" in capsys.readouterr().out
    assert not (tmp_path / "onnx").exists() or not list((tmp_path / "onnx").glob("*.onnx"))


def test_list_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "talkvid_fast.engines", "list", "--out", str(tmp_path), "--device", "cpu"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cotracker3_official_t13" in proc.stdout and "-> torch-cpu-fp32" in proc.stdout
    assert "built engines: 0" in proc.stdout
