"""The upstream modules the evaluation networks are checked against (test oracles; never copied into the project).

They come from `../shared/upstream` (or $TALKVID_UPSTREAM), and tests skip with the reason when a folder is
missing (CI reaches PyPI only, and these are not installable there next to CPU torch):
- `pytorch-fid/`: `pip install --no-deps --target pytorch-fid pytorch-fid==0.3.0 torchvision==0.28.0`.
  torchvision 0.28.0 (the release for torch 2.13.0) is only on PyPI as its CUDA build, whose C++ ops do not
  load next to CPU torch; its Python code then stops at two unguarded fake-op registrations
  (`torchvision::nms`, `torchvision::qnms` in `_meta_registrations.py`). We declare those two op schemas
  (no kernel, nothing computes with them) so that `import torchvision` gets through; the Inception classes
  pytorch-fid builds on are plain PyTorch and run unmodified.
- `syncnet_python/`: joonson/syncnet_python @ 6efbb1c305c23f47a62b09cf4215a8ac45e97d49 (`SyncNetModel.py`,
  `SyncNetInstance.py`, MIT).
- `common_metrics_on_video_quality/`: JunyaoHu/common_metrics_on_video_quality @ 5f751734ce9cef4cd2dddb235726b75dff62a387
  (`fvd/styleganv/fvd.py`, `fvd/videogpt/fvd.py`, `fvd/videogpt/pytorch_i3d.py`); the repository has no
  licence file, so these are read as test oracles only.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import torch
from torch import nn

from tests.upstream import load_file, patched_modules, upstream_dir

_TORCHVISION_OPS: list[torch.library.Library] = []  # kept alive: the schemas live as long as the library


def _declare_torchvision_nms() -> None:
    if _TORCHVISION_OPS or hasattr(torch.ops.torchvision, "nms"):
        return
    lib = torch.library.Library("torchvision", "FRAGMENT")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _TORCHVISION_OPS.append(lib)


@contextmanager
def pytorch_fid() -> Iterator[types.ModuleType]:
    """`pytorch_fid.inception` (with torchvision's Python code) from the oracle folder."""
    site = upstream_dir("pytorch-fid")
    _declare_torchvision_nms()
    with patched_modules({}, path=site):
        import pytorch_fid.inception as inception

        yield inception


def fid_upstream(inception: types.ModuleType, state: dict[str, torch.Tensor]) -> nn.Module:
    """pytorch-fid's `InceptionV3([3])` (FID weights, resize and normalise on) loaded with `state` instead of
    the downloaded checkpoint: `fid_inception_v3` loads it strictly into its patched torchvision Inception."""
    with mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: state):
        net = inception.InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True)
    return net.eval()


def fid_checkpoint_net(inception: types.ModuleType, state: dict[str, torch.Tensor]) -> nn.Module:
    """The module `fid_inception_v3()` builds and loads `pt_inception-2015-12-05-6726825d.pth` into (patched
    torchvision Inception3, 1008 classes, no aux head), here loaded strictly with `state`: its state dict is
    the checkpoint's key/shape list."""
    with mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: state):
        return inception.fid_inception_v3().eval()


def syncnet_model() -> types.ModuleType:
    """joonson/syncnet_python's `SyncNetModel.py` (imports torch only)."""
    return load_file(upstream_dir("syncnet_python") / "SyncNetModel.py", "upstream_syncnet_model")


def styleganv_fvd() -> types.ModuleType:
    """common_metrics_on_video_quality's `fvd/styleganv/fvd.py` (torch, numpy, scipy)."""
    path = upstream_dir("common_metrics_on_video_quality") / "fvd" / "styleganv" / "fvd.py"
    return load_file(path, "upstream_styleganv_fvd")


def videogpt_fvd() -> tuple[types.ModuleType, types.ModuleType]:
    """common_metrics_on_video_quality's `fvd/videogpt/fvd.py` and its `pytorch_i3d.py` (piergiaj's InceptionI3d
    as VideoGPT copied it: BatchNorm eps 1e-5, logits averaged over time)."""
    folder = upstream_dir("common_metrics_on_video_quality") / "fvd" / "videogpt"
    return load_file(folder / "fvd.py", "upstream_videogpt_fvd"), load_file(
        folder / "pytorch_i3d.py", "upstream_i3d"
    )


def randomise(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Random weights with non-trivial BatchNorm statistics (so no layer is an identity), returned as a state
    dict; the model is left untouched."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if not value.is_floating_point():
            state[key] = value.clone()
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(value.shape, generator=g)
        elif key.endswith("running_mean") or key.endswith("bias"):
            state[key] = 0.1 * torch.randn(value.shape, generator=g)
        elif value.ndim == 1:  # BatchNorm scale
            state[key] = 0.5 + torch.rand(value.shape, generator=g)
        else:  # He-style scale keeps activations O(1) through deep stacks
            fan_in = value[0].numel()
            state[key] = torch.randn(value.shape, generator=g) * (2.0 / fan_in) ** 0.5
    return state


def max_rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| / max |ref| (the brief's relative error, robust to near-zero entries)."""
    return float((ours.double() - ref.double()).abs().max() / ref.double().abs().max())
