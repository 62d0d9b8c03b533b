"""Engine parity on a GPU: the torch engine on CUDA in fp32, bf16 and fp16 against the same module on the CPU in
fp32, for DOVER (full architecture, random weights) and CoTracker3 online (random weights, small frames).
Skipped without a GPU (bench/gpu_check.sh runs it). The bounds are the ones set before any GPU run: fp32 within
1e-2 of the output's scale (cuDNN may convolve in TF32), bf16 within 10 %, fp16 within 5 %; the measured
errors are printed, so the device check's log records them."""

from __future__ import annotations

import copy

import pytest
import torch

from talkvid_fast.engines import TorchEngine

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
BOUNDS = {"fp32": 1e-2, "bf16": 0.10, "fp16": 0.05}


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    scale = float(want.abs().max()) or 1.0
    return float((got.float().cpu() - want.float()).abs().max()) / scale


def _check(name: str, module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], precision: str) -> None:
    torch.manual_seed(0)
    want = TorchEngine(copy.deepcopy(module), torch.device("cpu"), "fp32")(*inputs)
    got = TorchEngine(module, torch.device("cuda"), precision)(*(x.cuda() for x in inputs))
    want_t = (want,) if isinstance(want, torch.Tensor) else tuple(want)
    got_t = (got,) if isinstance(got, torch.Tensor) else tuple(got)
    errors = [_relative_error(g, w) for g, w in zip(got_t, want_t, strict=True)]
    print(f"{name} {precision}: relative max errors {[f'{e:.2e}' for e in errors]}")
    assert max(errors) <= BOUNDS[precision], (name, precision, errors)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_dover_cuda_matches_cpu(precision: str) -> None:
    from talkvid_fast.quality.model import build_dover

    torch.manual_seed(0)
    model = build_dover(None).eval()
    tech = torch.randn(3, 3, 32, 224, 224)
    aes = torch.randn(1, 3, 32, 224, 224)
    _check("dover", model, (tech, aes), precision)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cotracker_cuda_matches_cpu(precision: str) -> None:
    from talkvid_fast.motion.cotracker import build

    torch.manual_seed(0)
    model = build("online").eval()
    model.iters = 2
    video = torch.rand(2, 16, 3, 96, 128) * 255
    queries = torch.cat([torch.zeros(2, 16, 1), torch.rand(2, 16, 2) * 90], 2)
    _check("cotracker3_online", model, (video, queries), precision)
