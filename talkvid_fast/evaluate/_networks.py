"""The learned networks the evaluator needs, loaded lazily: each is either there or "not run: <why>".

The networks live in `talkvid_fast.evalnets` (Inception-v3 pool3 for FID, I3D for FVD, SyncNet v2); their
weights are fetched with `python -m talkvid_fast.weights fetch NAME`. A metric whose network cannot be
loaded (package absent, weights missing, any loader error) is reported as not run, with the loader's own
message, and the other metrics still run. Tests inject stand-in feature functions through `Networks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

FrameFeatures = Callable[[torch.Tensor], Any]  #: (N, H, W, 3) uint8 RGB -> (N, D)
VideoFeatures = Callable[[torch.Tensor], Any]  #: (B, T, H, W, 3) uint8 RGB -> (B, D)


@dataclass
class Networks:
    inception: FrameFeatures | None = None
    i3d: VideoFeatures | None = None
    syncnet: Any = None  #: .video_embeddings(crops (T, 224, 224, 3) uint8) / .audio_embeddings(int16 wav)
    facemesh: Any = None  #: a FaceMeshBackend (landmarks for LMD)
    lpips: Callable[[torch.Tensor, torch.Tensor], Any] | None = None  #: (N,3,H,W) in [-1,1] pairs -> (N,)
    not_run: dict[str, str] = field(default_factory=dict)  #: metric -> reason
    #: ground-truth landmarks by (bench folder, clip id, frame stride): computed once per Networks
    reference_landmarks: dict[tuple[str, str, int], Any] = field(default_factory=dict)


def as_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, np.float32)


def _try(name: str, load: Callable[[], Any], nets: Networks) -> Any:
    try:
        return load()
    except ImportError as exc:
        nets.not_run[name] = f"not run: {exc} (package not installed)"
    except Exception as exc:  # weights missing or any loader failure: the metric is reported as not run
        msg = str(exc)
        nets.not_run[name] = msg if "not run" in msg else f"not run: {type(exc).__name__}: {msg}"
    return None


def _lpips(device: str) -> Callable[[torch.Tensor, torch.Tensor], Any]:
    import lpips

    net = lpips.LPIPS(net="alex", verbose=False).to(device).eval()

    def run(a: torch.Tensor, b: torch.Tensor) -> Any:
        with torch.no_grad():
            return net(a.to(device), b.to(device)).reshape(-1)

    return run


def load_networks(metrics: set[str], device: str, runtime: str = "auto") -> Networks:
    """Loads what `metrics` need, each network run by `runtime` (auto | tensorrt | torch | onnxruntime: Note
    [Evaluation networks on the engine layer]); what cannot load goes to `not_run`. The default FVD network,
    StyleGAN-V's TorchScript I3D, runs on torch whatever `runtime` says (it has no engine; `engines` says so)."""
    nets = Networks()
    ev = _evalnets
    if "fid" in metrics:
        nets.inception = _try("fid", lambda: ev().load_inception(device, runtime=runtime), nets)
    if "fvd" in metrics:
        i3d_runtime = runtime if runtime in ("auto", "torch") else "torch"
        nets.i3d = _try("fvd", lambda: ev().load_i3d(device, runtime=i3d_runtime), nets)
    if "sync" in metrics:
        nets.syncnet = _try("sync", lambda: ev().load_syncnet(device, runtime=runtime), nets)
    if "lmd" in metrics:
        nets.facemesh = _try("lmd", lambda: _facemesh(device), nets)
    if "lpips" in metrics:
        nets.lpips = _try("lpips", lambda: _lpips(device), nets)
    return nets


def engine_names(nets: Networks) -> dict[str, str]:
    """Metric -> the engine that runs its network ("tensorrt-10.3.0-fp32", "onnxruntime-cpu",
    "torch-cuda-fp32", ...), for the networks loaded through the engine layer."""
    found = {
        "fid": getattr(nets.inception, "engine", None),
        "fvd": getattr(nets.i3d, "engine", None),
        "sync": getattr(nets.syncnet, "lip_engine", None),
    }
    return {m: str(e.name) for m, e in found.items() if e is not None}


def _evalnets() -> Any:
    import importlib

    return importlib.import_module("talkvid_fast.evalnets")


def _facemesh(device: str) -> Any:
    from ..head._facemesh_backend import FaceMeshBackend

    return FaceMeshBackend(torch.device(device), runtime="torch")
