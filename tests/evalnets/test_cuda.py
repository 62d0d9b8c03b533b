"""The evaluation networks on a GPU against the same networks on the CPU, both in true fp32 (the metrics'
precision: the loaders turn TF32 off for each call), random weights with random BatchNorm statistics.
Skipped without a GPU (bench/gpu_check.sh selects it: its ids say cuda). The bound, set before any GPU run:
1e-4 of each output's scale (fp32 convolution algorithms differ between cuDNN and the CPU only in summation
order); the measured errors are printed so that the device check's log records them."""

from __future__ import annotations

import copy
from typing import TypeVar

import numpy as np
import pytest
import torch
from torch import nn

from talkvid_fast.evalnets import (
    FIDInception,
    I3DFeatures,
    InceptionFeatures,
    InceptionI3d,
    SyncNet,
    SyncNetEmbedder,
)

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
BOUND = 1e-4
M = TypeVar("M", bound=nn.Module)


def _randomised(net: M) -> M:
    torch.manual_seed(0)
    for m in net.modules():  # BatchNorm with its defaults (mean 0, var 1) would hide a wrong statistic
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def _check(name: str, got: torch.Tensor, want: torch.Tensor) -> None:
    error = float((got.cpu() - want).abs().max()) / (float(want.abs().max()) or 1.0)
    print(f"{name} cuda vs cpu fp32: relative max error {error:.2e}")
    assert got.shape == want.shape and error <= BOUND, (name, error)


def test_inception_cuda_matches_cpu() -> None:
    net = _randomised(FIDInception())
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 180, 320, 3), dtype=np.uint8))
    want = InceptionFeatures(copy.deepcopy(net), "cpu", runtime="torch")(frames)
    _check("inception", InceptionFeatures(net, "cuda", runtime="torch")(frames), want)


def test_i3d_videogpt_cuda_matches_cpu() -> None:
    net = _randomised(InceptionI3d())
    clips = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (2, 16, 128, 160, 3), dtype=np.uint8))
    want = I3DFeatures(copy.deepcopy(net), "cpu", runtime="torch")(clips)
    _check("i3d_videogpt", I3DFeatures(net, "cuda", runtime="torch")(clips), want)


def test_syncnet_cuda_matches_cpu() -> None:
    net = _randomised(SyncNet())
    rng = np.random.default_rng(2)
    crops = torch.from_numpy(rng.integers(0, 256, (12, 224, 224, 3), dtype=np.uint8))
    wav = (rng.standard_normal(16_000) * 3000).astype(np.int16)
    cpu = SyncNetEmbedder(copy.deepcopy(net), "cpu", runtime="torch")
    gpu = SyncNetEmbedder(net, "cuda", runtime="torch")
    _check("syncnet video", gpu.video_embeddings(crops), cpu.video_embeddings(crops))
    _check("syncnet audio", gpu.audio_embeddings(wav), cpu.audio_embeddings(wav))
