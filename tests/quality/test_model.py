"""DOVER modules: strict loadability against reference/state_dicts/dover.txt, and the fragment bias gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.quality._swin3d import SwinBlock3D, gate
from talkvid_fast.quality.model import DOVER, DoverConfig, build_dover, load_strict
from talkvid_fast.quality.reference import fragment_gate_ref

STATE_DICTS = Path(__file__).resolve().parents[3] / "shared" / "docs" / "reference" / "state_dicts"


def _reference_keys() -> list[tuple[str, tuple[int, ...], str]]:
    path = STATE_DICTS / "dover.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        dims = tuple(int(d) for d in shape.strip("()").split(",") if d.strip())
        rows.append((key, dims, dtype))
    return rows


@pytest.fixture(scope="module")
def dover() -> DOVER:
    torch.manual_seed(0)
    return DOVER().eval()


def test_state_dict_equals_official_key_list(dover: DOVER) -> None:
    ref = _reference_keys()
    mine = [(k, tuple(v.shape), str(v.dtype)) for k, v in dover.state_dict().items()]
    assert len(ref) == 381
    assert mine == ref  # same keys, shapes, dtypes and order
    buffers = [k for k, _, d in ref if d == "torch.int64"]
    assert len(buffers) == 12 and all(k.endswith("attn.relative_position_index") for k in buffers)
    assert sum(p.numel() for p in dover.parameters()) == 56_218_302


def test_strict_load_roundtrip_from_file(tmp_path: Path) -> None:
    """torch.load(weights_only=True) + strict load (the tiny config keeps the file small; same code path)."""
    model = DOVER(DoverConfig.tiny())
    g = torch.Generator().manual_seed(1)
    state = {
        k: (torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone())
        for k, v in model.state_dict().items()
    }
    path = tmp_path / "DOVER.pth"
    torch.save(state, path)
    loaded = build_dover(path, DoverConfig.tiny())
    assert not loaded.training
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[k]), k


@pytest.mark.parametrize("change", ["drop_buffer", "extra_key", "wrong_dtype", "wrong_shape"])
def test_strict_load_rejects_other_state_dicts(dover: DOVER, change: str) -> None:
    state = dict(dover.state_dict())
    key = "technical_backbone.layers.0.blocks.0.attn.relative_position_index"
    if change == "drop_buffer":
        del state[key]
    elif change == "extra_key":
        state["technical_backbone.head.weight"] = torch.zeros(1)
    elif change == "wrong_dtype":
        state[key] = state[key].to(torch.int32)
    else:
        state["technical_head.fc_last.bias"] = torch.zeros(2)
    with pytest.raises(ValueError, match="not a DOVER state dict"):
        load_strict(dover, state)


def _block(dover: DOVER, layer: int, block: int) -> SwinBlock3D:
    blk = dover.technical_backbone.layers[layer].blocks[block]  # type: ignore[index]
    assert isinstance(blk, SwinBlock3D)
    return blk


# Gate values measured upstream (models.md §1.3): (stage, shifted) -> set of g values.
EXPECTED_GATES = {
    (0, False): {0, 1, 2},
    (0, True): {0, 1, 2, 6, 7, 12},
    (1, False): {0, 1, 2, 3, 4},
    (1, True): {0, 1, 2, 3, 4, 6, 7, 8, 12},
    (2, False): set(range(7)),
    (2, True): set(range(13)),
    (3, False): set(range(13)),
    (3, True): set(range(13)),
}


def test_fragment_gate_equals_upstream_gpi(dover: DOVER) -> None:
    """Every block: the in-graph gate from (nW, N) ids equals upstream's |gpi|.sum(-1) (non-binary)."""
    for li, depth in enumerate((2, 2, 6, 2)):
        for bi in range(depth):
            blk = _block(dover, li, bi)
            g = fragment_gate_ref(blk.size, blk.window, blk.shift)
            assert set(np.unique(g).tolist()) == EXPECTED_GATES[(li, bi % 2 == 1)]
            assert np.array_equal(gate(blk.frag_h, blk.frag_w).numpy(), g.astype(np.float32)), (li, bi)


@pytest.mark.parametrize(("layer", "block"), [(0, 1), (2, 1), (3, 0)])
def test_fragment_bias_equals_upstream_formula(dover: DOVER, layer: int, block: int) -> None:
    """bias == rpb * g + fpb * (1 - g) (stage 3: rpb only), bit for bit."""
    blk = _block(dover, layer, block)
    attn = blk.attn
    with torch.no_grad():
        attn.relative_position_bias_table.normal_()
        if hasattr(attn, "fragment_position_bias_table"):
            attn.fragment_position_bias_table.normal_()
        got = attn.bias(blk.frag_h, blk.frag_w, None).numpy()
    idx = attn.relative_position_index.numpy().reshape(-1)
    n = attn.relative_position_index.shape[0]
    rpb = attn.relative_position_bias_table.detach().numpy()[idx].reshape(n, n, -1).transpose(2, 0, 1)
    if hasattr(attn, "fragment_position_bias_table"):
        fpb = attn.fragment_position_bias_table.detach().numpy()[idx].reshape(n, n, -1).transpose(2, 0, 1)
        gf = fragment_gate_ref(blk.size, blk.window, blk.shift)[:, None].astype(np.float32)
        want = rpb[None] * gf + fpb * (np.float32(1) - gf)
    else:
        assert layer == 3
        want = rpb[None]
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_shift_mask_marks_wrapped_regions(dover: DOVER) -> None:
    blk = _block(dover, 2, 1)
    assert blk.shift == (4, 3, 3) and blk.region is not None
    with torch.no_grad():
        plain = blk.attn.bias(blk.frag_h, blk.frag_w, None)
        masked = blk.attn.bias(blk.frag_h, blk.frag_w, blk.region)
    diff = (masked - plain).numpy()
    assert np.allclose(diff[diff != 0], -100.0, atol=1e-4)
    # 2x2x2 windows at stage 2: the first is interior (one region), the last wraps in d, h and w (8 regions)
    assert (diff[0] == 0).all()
    assert len(np.unique(blk.region[-1].numpy())) == 8
    assert _block(dover, 0, 0).region is None
    stage3 = _block(dover, 3, 1)
    assert stage3.window == (8, 7, 7) and stage3.shift == (4, 0, 0)


def test_index_buffers_are_small_and_not_in_state_dict(dover: DOVER) -> None:
    names = {k for k, _ in dover.named_buffers()} - set(dover.state_dict())
    assert names and all(k.rsplit(".", 1)[1] in ("frag_h", "frag_w", "region") for k in names)
    total = sum(b.numel() for k, b in dover.named_buffers() if k in names)
    assert total < 2_000_000  # ~ (nW, N) per block, not (nW, N, N, 3)
