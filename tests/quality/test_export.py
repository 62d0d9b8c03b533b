"""ONNX export: ONNX Runtime against PyTorch on random weights, dynamic clip batch, small file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from talkvid_fast.quality.export import OUTPUT_NAMES, example_inputs, export_dover, ort_session, parity
from talkvid_fast.quality.model import DOVER, DoverConfig


def _check_graph(path: Path, model: DOVER) -> None:
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["tech_view", "aes_view"]
    assert [o.name for o in graph.output] == list(OUTPUT_NAMES)
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input]
    assert dims == [["tech_clips", 3, 32, 224, 224], ["aes_clips", 3, 32, 224, 224]]
    # the fragment bias is formed in-graph: besides the weights only (nW, N) index buffers and no constant
    # anywhere near a (nW, 1, N, N) gate
    weights = set(model.state_dict())
    extra = [int(np.prod(t.dims)) for t in graph.initializer if t.name not in weights]
    assert extra and max(extra) <= 128 * 392
    consts = [
        int(np.prod(n.attribute[0].t.dims))
        for n in graph.node
        if n.op_type == "Constant" and n.attribute[0].t.dims
    ]
    assert max(consts, default=0) < 100_000
    assert {"Abs", "Where", "Softmax"} <= {n.op_type for n in graph.node}


def test_tiny_export_parity_and_dynamic_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DOVER(DoverConfig.tiny()).eval()
    path = export_dover(model, tmp_path / "dover_tiny.onnx")
    _check_graph(path, model)
    assert path.stat().st_size < 15_000_000  # weights ~3 MB + 12 relative-position indices ~15 MB would fail
    err = parity(model, path, tech_clips=3, aes_clips=2)  # traced with (2, 1): the batch is dynamic
    assert err["technical_max_abs"] < 1e-5 * max(1.0, err["technical_scale"])
    assert err["aesthetic_max_abs"] < 1e-5 * max(1.0, err["aesthetic_scale"])


@pytest.mark.slow
def test_full_export_parity(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DOVER().eval()
    path = export_dover(model, tmp_path / "dover.onnx")
    _check_graph(path, model)
    assert path.stat().st_size < 260_000_000  # 56.2 M fp32 params = 225 MB, + indices
    tech, aes = example_inputs(model, 1, 1, seed=3)
    with torch.inference_mode():
        t_ref, a_ref = model(tech, aes)
    t, a = ort_session(path).run(list(OUTPUT_NAMES), {"tech_view": tech.numpy(), "aes_view": aes.numpy()})
    assert np.abs(t - t_ref.numpy()).max() < 1e-5 and np.abs(a - a_ref.numpy()).max() < 1e-5
