"""FVD I3D, two protocols (both in common_metrics_on_video_quality's `calculate_fvd(method=...)`).

Note [Which I3D]: FVD numbers are only comparable when computed with the same network and weights.
- `styleganv` (default): the TF-Hub `i3d-kinetics-400/1` network of google-research's frechet_video_distance,
  as StyleGAN-V's TorchScript `i3d_torchscript.pt` (reported to reproduce TF-Hub's features), used by
  common_metrics_on_video_quality and most recent video papers. We call the file itself, as `fvd/styleganv/
  fvd.py` does: `detector(x, rescale=False, resize=False, return_features=True)` -> 400 pre-softmax features.
  It is a TorchScript archive, not a state dict: `torch.jit.load` reads TorchScript code and tensors with its
  own restricted unpickler (no Python object is imported or executed), so it is not pickle loading either.
- `videogpt`: piergiaj's `InceptionI3d(400)` with `i3d_pretrained_400.pt` (the original I3D release, not the
  TF-Hub weights), as VideoGPT / TATS / MCVD compute FVD: our port (`_inception_i3d.py`) loaded strictly, the
  logits averaged over time. Its FVDs differ from `styleganv`'s.

Preprocessing, the same in both for uint8 input: clips in [0, 1] -> short side resized to 224 (bilinear,
align_corners=False, no antialiasing, the long side rounded up) -> centre crop 224² -> [-1, 1], layout
(B, 3, T, 224, 224).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import WeightSet, WeightsMissing, fetch_command
from . import _checkpoint
from ._engine import open_evalnet
from ._inception_i3d import InceptionI3d
from ._precision import strict_fp32
from .weights import (
    I3D_FILE,
    I3D_FVD,
    I3D_GIT_BLOB_SHA1,
    I3D_VIDEOGPT,
    I3D_VIDEOGPT_FILE,
    I3D_VIDEOGPT_GIT_BLOB_SHA1,
)

FVD_SIZE = 224
FEATURES = 400
PROTOCOLS = ("styleganv", "videogpt")
VIDEOGPT_GRAPH = "i3d_videogpt"  #: engines/i3d_videogpt.toml
STYLEGANV_GRAPH = "i3d_styleganv"  #: no spec: the TorchScript runs on torch (named so in EngineUse records)


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


class StyleGANVDetector(nn.Module):
    """StyleGAN-V's TorchScript detector called as common_metrics_on_video_quality calls it."""

    def __init__(self, script: nn.Module) -> None:
        super().__init__()
        self.script = script

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.script(x, rescale=False, resize=False, return_features=True)


class I3DFeatures:
    """Callable: uint8 RGB clips (B, T, H, W, 3) -> float32 (B, 400) I3D features, in batches on `device`.
    `net` maps preprocessed (B, 3, T, 224, 224) clips to (B, 400). `graph`: its engine graph (`i3d_videogpt`
    for InceptionI3d, which `runtime` may run on TensorRT / ONNX Runtime; Note [Evaluation networks on the
    engine layer]), None for a network without one (StyleGAN-V's TorchScript: torch only)."""

    def __init__(
        self,
        net: nn.Module,
        device: str = "cpu",
        batch: int = 10,
        runtime: str = "auto",
        weights_tag: str | None = None,
        engines: str | Path | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.batch = batch
        graph = VIDEOGPT_GRAPH if isinstance(net, InceptionI3d) else STYLEGANV_GRAPH
        if graph == STYLEGANV_GRAPH and runtime not in ("auto", "torch"):
            raise ValueError(
                f"runtime {runtime!r}: the styleganv I3D is a TorchScript file, run by torch only "
                "(Note [Which I3D]); allowed: auto, torch"
            )
        self.engine = open_evalnet(
            graph, self.net, self.device, runtime, weights_tag if graph == VIDEOGPT_GRAPH else None, engines
        )

    @torch.inference_mode()
    @strict_fp32()
    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        out = []
        for i in range(0, len(videos), self.batch):
            x = fvd_preprocess(videos[i : i + self.batch]).to(self.device)
            feats = self.engine(x)[0]
            if feats.shape != (len(x), FEATURES):
                raise ValueError(
                    f"the I3D network returned {tuple(feats.shape)}, expected ({len(x)}, {FEATURES})"
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


def load_videogpt_i3d(path: str | Path) -> InceptionI3d:
    """InceptionI3d from `i3d_pretrained_400.pt` (weights_only, every key and shape checked)."""
    net = InceptionI3d()
    _checkpoint.load_state_strict(net, _checkpoint.read_state_dict(Path(path)), "I3D (i3d_pretrained_400)")
    return net.eval()


def _verified(ws: WeightSet, name: str, blob: str, what: str) -> Path:
    """The weight file, present and equal to the repository's copy (its git blob sha1)."""
    path = _checkpoint.weights_file(ws, name, what)
    if git_blob_sha1(path) != blob:
        raise WeightsMissing(
            f"{path} is not the expected {name} (git blob sha1 {blob[:12]}...)",
            f"delete it and run `{fetch_command(ws.name)}`",
        )
    return path


def videogpt_i3d_weights() -> Path:
    """`i3d_pretrained_400.pt`, checked against the repository's copy (WeightsMissing with the fetch command)."""
    return _verified(I3D_VIDEOGPT, I3D_VIDEOGPT_FILE, I3D_VIDEOGPT_GIT_BLOB_SHA1, "FVD (videogpt)")


def load_i3d(device: str = "cpu", protocol: str = "styleganv", runtime: str = "auto") -> I3DFeatures:
    """The FVD I3D of `protocol` with its weights (WeightsMissing with the fetch command when absent), run by
    `runtime`: auto | tensorrt | torch | onnxruntime for `videogpt`; auto | torch for `styleganv` (a
    TorchScript file: torch only)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"FVD protocol {protocol!r}; allowed: {', '.join(PROTOCOLS)}")
    if protocol == "videogpt":
        path = videogpt_i3d_weights()
        return I3DFeatures(load_videogpt_i3d(path), device, runtime=runtime, weights_tag=path.stem)
    if runtime not in ("auto", "torch"):  # before reading the file: fail fast
        raise ValueError(
            f"runtime {runtime!r}: the styleganv I3D is a TorchScript file, run by torch only "
            "(Note [Which I3D]); allowed: auto, torch"
        )
    path = _verified(I3D_FVD, I3D_FILE, I3D_GIT_BLOB_SHA1, "FVD")
    return I3DFeatures(StyleGANVDetector(load_torchscript(path)), device, runtime=runtime)
