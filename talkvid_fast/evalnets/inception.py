"""FID Inception-v3: pytorch-fid's `InceptionV3([3])` with `fid_inception_v3()` weights, re-implemented.

Note [Why not pytorch-fid itself]: pytorch-fid builds its network from torchvision's Inception classes, and
PyPI has no torchvision for torch 2.13.0 CPU: torchvision 0.28.0 (the one that pins torch==2.13.0) is the CUDA
build, and importing it next to CPU torch fails (`operator torchvision::nms does not exist`). So this module
rebuilds the same network under the same key names (torchvision's: `Conv2d_1a_3x3.conv.weight`,
`Mixed_5b.branch1x1.bn.running_mean`, ..., `fc.weight` (1008, 2048)) and loads
`pt_inception-2015-12-05-6726825d.pth` strictly. tests/evalnets/test_inception.py compares it with
pytorch-fid's own module (with torchvision's Python code) on identical random weights.

Differences from torchvision's Inception3, as pytorch-fid patches them (FIDInceptionA/C/E_1/E_2): the 3x3
average pools in the A, C and first E blocks do not count padding; the last E block max-pools instead.
BatchNorm eps is 1e-3 everywhere.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import _checkpoint
from ._engine import open_evalnet
from ._precision import strict_fp32
from .weights import INCEPTION_FID, INCEPTION_FILE, INCEPTION_SHA256_PREFIX

FID_SIZE = 299  #: pytorch-fid's input size
FEATURES = 2048  #: pool3 width
GRAPH = "inception_fid"  #: its graph in engines/inception_fid.toml


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], **kw: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, bias=False, **kw)  # type: ignore[arg-type]
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg3(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class MixedA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))], 1)


class MixedB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class MixedC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, self.branch7x7dbl_5(d), self.branch_pool(_avg3(x))], 1)


class MixedD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class MixedE(nn.Module):
    """`max_pool`: the last block (pytorch-fid's FIDInceptionE_2) max-pools its pool branch."""

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """Inception-v3 as pytorch-fid's FID network; `forward` takes [-1, 1] images at 299² and returns pool3."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = MixedA(192, 32)
        self.Mixed_5c = MixedA(256, 64)
        self.Mixed_5d = MixedA(288, 64)
        self.Mixed_6a = MixedB(288)
        self.Mixed_6b = MixedC(768, 128)
        self.Mixed_6c = MixedC(768, 160)
        self.Mixed_6d = MixedC(768, 160)
        self.Mixed_6e = MixedC(768, 192)
        self.Mixed_7a = MixedD(768)
        self.Mixed_7b = MixedE(1280, max_pool=False)
        self.Mixed_7c = MixedE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)  # in the checkpoint; FID does not use the logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def fid_preprocess(frames: torch.Tensor) -> torch.Tensor:
    """uint8 RGB (N, H, W, 3) -> float32 (N, 3, 299, 299) in [-1, 1], as pytorch-fid: x/255 (its ToTensor),
    bilinear resize to 299 with align_corners=False and no antialiasing, then 2x - 1."""
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            f"FID frames must be uint8 RGB (N, H, W, 3); got {tuple(frames.shape)} {frames.dtype}"
        )
    x = frames.permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(FID_SIZE, FID_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


class InceptionFeatures:
    """Callable: uint8 RGB frames (N, H, W, 3) -> float32 (N, 2048) pool3 features, in batches on `device`,
    the network run by `runtime` (Note [Evaluation networks on the engine layer]; `weights_tag`: the export
    of these weights, None for weights of no export; `engines`: the engine folder, default the cache)."""

    def __init__(
        self,
        net: FIDInception,
        device: str = "cpu",
        batch: int = 32,
        runtime: str = "auto",
        weights_tag: str | None = None,
        engines: str | Path | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.batch = batch
        self.engine = open_evalnet(GRAPH, self.net, self.device, runtime, weights_tag, engines)

    @torch.inference_mode()
    @strict_fp32()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        out = [
            self.engine(fid_preprocess(frames[i : i + self.batch].to(self.device)))[0].float().cpu()
            for i in range(0, len(frames), self.batch)
        ]
        return torch.cat(out) if out else torch.zeros(0, FEATURES)


def load_fid_inception(path: str | Path) -> FIDInception:
    """FIDInception from a pytorch-fid checkpoint (weights_only, every key and shape checked)."""
    net = FIDInception()
    _checkpoint.load_state_strict(net, _checkpoint.read_state_dict(Path(path)), "pytorch-fid Inception")
    return net.eval()


def inception_weights() -> Path:
    """pytorch-fid's weight file, checked (WeightsMissing with the fetch command when absent or another file)."""
    from ..weights import WeightsMissing, fetch_command, sha256_of

    path = _checkpoint.weights_file(INCEPTION_FID, INCEPTION_FILE, "FID")
    if not sha256_of(path).startswith(INCEPTION_SHA256_PREFIX):
        raise WeightsMissing(
            f"{path} is not pytorch-fid's file: its sha256 does not start with {INCEPTION_SHA256_PREFIX}",
            f"delete it and run `{fetch_command(INCEPTION_FID.name)}`",
        )
    return path


def load_inception(device: str = "cpu", runtime: str = "auto") -> InceptionFeatures:
    """The FID network with the `inception_fid` weights (WeightsMissing with the fetch command when absent),
    run by `runtime`: auto | tensorrt | torch | onnxruntime (Note [Evaluation networks on the engine layer])."""
    path = inception_weights()
    return InceptionFeatures(load_fid_inception(path), device, runtime=runtime, weights_tag=path.stem)
