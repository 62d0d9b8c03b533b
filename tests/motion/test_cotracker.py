"""CoTracker3: strict checkpoint layout, ONNX == PyTorch (parity with upstream: test_cotracker_upstream.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.motion import cotracker
from talkvid_fast.motion.export import example_inputs, export_cotracker, graph_report

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "docs" / "reference" / "state_dicts"


def parse_state_dict_list(path: Path) -> dict[str, tuple[int, ...]]:
    out = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        name, shape = line.split("\t")[:2]
        out[name] = tuple(int(v) for v in re.findall(r"\d+", shape))
    return out


@pytest.mark.parametrize("kind", ["offline", "online"])
def test_state_dict_matches_official_checkpoint(kind: str, tmp_path: Path) -> None:
    ref_file = REFERENCE / f"cotracker3_{kind}.txt"
    if not ref_file.is_file():
        pytest.skip(f"{ref_file} not found")
    expected = parse_state_dict_list(ref_file)
    model = cotracker.build(kind)
    sd = model.state_dict()
    assert list(sd) == list(expected)  # same keys, same order
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert {v.dtype for v in sd.values()} == {torch.float32}
    assert sum(p.numel() for p in model.parameters()) == 25_385_700
    # strict load through the real loader (weights_only), from a checkpoint shaped like the official one
    ckpt = tmp_path / "ckpt.pth"
    torch.save({k: torch.randn_like(v) for k, v in sd.items()}, ckpt)
    loaded = cotracker.load(kind, str(ckpt))
    assert torch.equal(loaded.state_dict()["corr_mlp.fc1.weight"], torch.load(ckpt)["corr_mlp.fc1.weight"])
    bad = dict(torch.load(ckpt))
    bad.pop("updateformer.virual_tracks")
    torch.save(bad, ckpt)
    with pytest.raises(RuntimeError, match="virual_tracks"):
        cotracker.load(kind, str(ckpt))


def test_time_embedding_matches_upstream_formula() -> None:
    emb = cotracker.sincos_time_embed(1110, 16)[0].double()
    pos, i = 5, 7
    assert emb[pos, i].item() == pytest.approx(np.sin(pos / 10000 ** (i / 555)), abs=1e-6)
    assert emb[pos, 555 + i].item() == pytest.approx(np.cos(pos / 10000 ** (i / 555)), abs=1e-6)


def test_onnx_export_matches_torch(tmp_path: Path) -> None:
    import onnxruntime as ort

    torch.manual_seed(0)
    model = cotracker.build("offline").eval()
    path = export_cotracker(model, tmp_path / "cotracker3.onnx", frames=4, queries=5, size=(64, 64))
    report = graph_report(path)
    ops = report["ops"]
    assert isinstance(ops, dict)
    assert "Einsum" not in ops and ops.get("GridSample", 0) > 0
    assert report["gridsample_input_ranks"] == [4]
    video, queries = example_inputs(frames=4, queries=5, size=(64, 64), batch=2, seed=3)  # batch 2: dynamic
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"video": video.numpy(), "queries": queries.numpy()})
    with torch.no_grad():
        want = model(video, queries)
    for g, w in zip(got, want, strict=True):
        err = np.abs(g - w.numpy()).max() / max(1.0, float(w.abs().max()))
        assert err < 1e-4, err
