"""Bit-for-bit parity with upstream DOVER's own modules, when a checkout of VQAssessment/DOVER is at hand.

Set TALKVID_DOVER_UPSTREAM to the checkout (the folder holding dover/models/swin_backbone.py); the upstream
modules are loaded from their files (einops / timm are replaced by minimal stand-ins when absent).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest
import torch

from talkvid_fast.quality.model import DOVER

UPSTREAM = os.environ.get("TALKVID_DOVER_UPSTREAM")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not UPSTREAM, reason="set TALKVID_DOVER_UPSTREAM to a VQAssessment/DOVER checkout"),
]


def _stub_modules() -> None:
    if importlib.util.find_spec("einops") is None:
        einops = types.ModuleType("einops")

        def rearrange(x: torch.Tensor, pattern: str) -> torch.Tensor:
            src, dst = (p.split() for p in pattern.split("->"))
            return x.permute(*[src.index(a) for a in dst])

        einops.rearrange = rearrange  # type: ignore[attr-defined]
        sys.modules["einops"] = einops
    if importlib.util.find_spec("timm") is None:
        layers = types.ModuleType("timm.models.layers")
        layers.trunc_normal_ = torch.nn.init.trunc_normal_  # type: ignore[attr-defined]
        layers.DropPath = lambda *a, **k: torch.nn.Identity()  # type: ignore[attr-defined]
        registry = types.ModuleType("timm.models.registry")
        registry.register_model = lambda f: f  # type: ignore[attr-defined]
        sys.modules.update(
            {
                "timm": types.ModuleType("timm"),
                "timm.models": types.ModuleType("timm.models"),
                "timm.models.layers": layers,
                "timm.models.registry": registry,
            }
        )


def _load(name: str) -> types.ModuleType:
    path = Path(str(UPSTREAM)) / "dover" / "models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_upstream_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backbones_equal_upstream_bit_for_bit() -> None:
    _stub_modules()
    up_swin, up_conv = _load("swin_backbone"), _load("conv_backbone")
    torch.manual_seed(0)
    ours = DOVER().eval()
    state = {
        k: (torch.randn_like(v) * 0.05 if v.is_floating_point() else v) for k, v in ours.state_dict().items()
    }
    ours.load_state_dict(state)
    tech = up_swin.SwinTransformer3D(use_checkpoint=False)
    tech.eval()
    aes = up_conv.convnext_3d_tiny(pretrained=False).eval()
    for prefix, module in (("technical_backbone.", tech), ("aesthetic_backbone.", aes)):
        module.load_state_dict(
            {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}, strict=True
        )
    x = torch.randn(1, 3, 32, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(tech(x), ours.technical_backbone(x))
        assert torch.equal(aes(x), ours.aesthetic_backbone(x))
