"""FVD I3D: StyleGAN-V's TorchScript of the TF-Hub `i3d-kinetics-400/1` network, used as it is.

Note [Which I3D]: FVD numbers are only comparable when computed with the TF-Hub network
(google-research/frechet_video_distance). StyleGAN-V exported that network to TorchScript
(`i3d_torchscript.pt`, reported to reproduce TF-Hub's features) and common_metrics_on_video_quality and most
recent video papers use that file. It is a TorchScript archive, not a state dict: `torch.jit.load` reads
TorchScript code and tensors with its own restricted unpickler (no Python object is imported or executed),
so it falls under Note [Weights] like `weights_only=True`. We call the network itself, so there is no port
to prove; the parts that are ours are the preprocessing and the call, both taken from
common_metrics_on_video_quality's `fvd/styleganv/fvd.py`, tested against that file on real frames. The
other PyTorch I3D (piergiaj's `InceptionI3d` with `i3d_pretrained_400.pt`, used by VideoGPT/TATS) carries
the original I3D release, not the TF-Hub weights, so its FVDs differ; we do not use it.

Protocol: clips in [0, 1] -> short side resized to 224 (bilinear, align_corners=False, no antialiasing, the
long side rounded up) -> centre crop 224² -> [-1, 1], layout (B, 3, T, 224, 224), then
`detector(x, rescale=False, resize=False, return_features=True)` -> (B, 400) pre-softmax features.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from . import _checkpoint
from ._precision import strict_fp32
from .weights import I3D_FILE, I3D_FVD, I3D_GIT_BLOB_SHA1

FVD_SIZE = 224
FEATURES = 400


def fvd_preprocess(videos: torch.Tensor, resolution: int = FVD_SIZE) -> torch.Tensor:
    """uint8 RGB (B, T, H, W, 3) -> float32 (B, 3, T, res, res) in [-1, 1] (see the protocol above)."""
    if videos.dtype != torch.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(
            f"FVD clips must be uint8 RGB (B, T, H, W, 3); got {tuple(videos.shape)} {videos.dtype}"
        )
    b, t, h, w, _ = videos.shape
    scale = resolution / min(h, w)
    size = (resolution, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), resolution)
    x = videos.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    top, left = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    x = x[:, :, top : top + resolution, left : left + resolution]
    x = (x - 0.5) * 2
    return x.reshape(b, t, 3, resolution, resolution).permute(0, 2, 1, 3, 4).contiguous()


class I3DFeatures:
    """Callable: uint8 RGB clips (B, T, H, W, 3) -> float32 (B, 400) I3D features, in batches on `device`."""

    def __init__(self, detector: torch.nn.Module, device: str = "cpu", batch: int = 10) -> None:
        self.device = torch.device(device)
        self.detector = detector.to(self.device).eval()
        self.batch = batch

    @torch.inference_mode()
    @strict_fp32()
    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        out = []
        for i in range(0, len(videos), self.batch):
            x = fvd_preprocess(videos[i : i + self.batch]).to(self.device)
            feats = self.detector(x, rescale=False, resize=False, return_features=True)
            if feats.shape != (len(x), FEATURES):
                raise ValueError(
                    f"the I3D detector returned {tuple(feats.shape)}, expected ({len(x)}, {FEATURES})"
                )
            out.append(feats.float().cpu())
        return torch.cat(out) if out else torch.zeros(0, FEATURES)


def git_blob_sha1(path: Path) -> str:
    """Git's object id of a file (sha1 of "blob <size>\\0" + bytes), to check it against a repository's copy."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    """A TorchScript archive on the CPU (`torch.jit.load`; ValueError when the file is not one)."""
    try:
        with (
            warnings.catch_warnings()
        ):  # torch 2.13 marks TorchScript deprecated; the file exists only as one
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as exc:
        raise ValueError(
            f"{path} is not a TorchScript archive (the I3D detector must be one): {exc}"
        ) from exc
    return module.eval()


def load_i3d(device: str = "cpu") -> I3DFeatures:
    """The FVD I3D with the `i3d_fvd` weights (WeightsMissing with the fetch command when absent)."""
    from ..weights import WeightsMissing, fetch_command

    path = _checkpoint.weights_file(I3D_FVD, I3D_FILE, "FVD")
    if git_blob_sha1(path) != I3D_GIT_BLOB_SHA1:
        raise WeightsMissing(
            f"{path} is not StyleGAN-V's i3d_torchscript.pt (git blob sha1 {I3D_GIT_BLOB_SHA1[:12]}...)",
            f"delete it and run `{fetch_command(I3D_FVD.name)}`",
        )
    return I3DFeatures(load_torchscript(path), device)
