"""SyncNet v2 embeddings (joonson/syncnet_python `S(num_layers_in_fc_layers=1024)`), re-implemented.

The network keeps upstream's `nn.Sequential` layout so the released `syncnet_v2.model` state dict
(`netcnnaud.*`, `netfcaud.*`, `netcnnlip.*`, `netfclip.*`) loads under its own key names, strictly (only
BatchNorm's `num_batches_tracked` may be missing: upstream's `loadParameters` copies by name and ignores it).

Note [SyncNet inputs, as SyncNetInstance.evaluate]:
- video: 25 fps face crops 224² read by cv2, so **BGR**, float 0..255 without normalisation; window i is
  frames i..i+4 as (3, 5, 224, 224). We take RGB uint8 and flip the channels here.
- audio: 16 kHz mono int16 samples; `python_speech_features.mfcc(audio, 16000)` with its defaults (13
  cepstra, 25 ms windows every 10 ms) on the raw int16 values; window i is MFCC columns 4i..4i+19 as
  (1, 13, 20). Float audio in [-1, 1] is scaled to int16 first (c0 depends on the scale).
- `evaluate` pairs the first `sync_window_count(frames, samples)` windows of each (its `lastframe`:
  min(frames, samples // 640) - 5, one fewer than the video allows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import _checkpoint
from ._engine import open_evalnet
from ._precision import strict_fp32
from .weights import SYNCNET_FILE, SYNCNET_V2

EMBED = 1024
AUDIO_RATE = 16000
FPS = 25
WINDOW = 5  #: video frames per window
MFCC_WINDOW = 20  #: MFCC columns per window (0.2 s)
MFCC_STEP = 4  #: MFCC columns per video frame (100 Hz / 25 fps)
TOWERS = ("audio", "lip")  #: graphs syncnet_v2_audio, syncnet_v2_lip of engines/syncnet_v2.toml


def _conv_bn2(cin: int, cout: int, **kw: object) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, **kw), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]  # type: ignore[arg-type]


def _conv_bn3(cin: int, cout: int, **kw: object) -> list[nn.Module]:
    return [nn.Conv3d(cin, cout, **kw), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]  # type: ignore[arg-type]


def _fc(embed: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, embed))


class SyncNet(nn.Module):
    """Audio and lip towers; layer indices (the state-dict keys) as upstream's `S`."""

    def __init__(self, embed: int = EMBED) -> None:
        super().__init__()
        self.netcnnaud = nn.Sequential(
            *_conv_bn2(1, 64, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=1, stride=1),
            *_conv_bn2(64, 192, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=3, stride=(1, 2)),
            *_conv_bn2(192, 384, kernel_size=3, padding=1),
            *_conv_bn2(384, 256, kernel_size=3, padding=1),
            *_conv_bn2(256, 256, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=3, stride=2),
            *_conv_bn2(256, 512, kernel_size=(5, 4)),
        )
        self.netfcaud = _fc(embed)
        self.netfclip = _fc(embed)
        self.netcnnlip = nn.Sequential(
            *_conv_bn3(3, 96, kernel_size=(5, 7, 7), stride=(1, 2, 2)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            *_conv_bn3(96, 256, kernel_size=(1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            *_conv_bn3(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
            *_conv_bn3(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
            *_conv_bn3(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            *_conv_bn3(256, 512, kernel_size=(1, 6, 6)),
        )

    def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 13, 20) MFCC windows -> (N, 1024)."""
        return self.netfcaud(self.netcnnaud(x).flatten(1))

    def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 5, 224, 224) BGR 0..255 windows -> (N, 1024)."""
        return self.netfclip(self.netcnnlip(x).flatten(1))


class SyncNetTower(nn.Module):
    """One tower of `net` as a module of its own (`audio`: forward_aud, `lip`: forward_lip): one graph each."""

    def __init__(self, net: nn.Module, tower: str) -> None:
        super().__init__()
        if tower not in TOWERS:
            raise ValueError(f"SyncNet tower {tower!r}; allowed: {', '.join(TOWERS)}")
        self.net, self.tower = net, tower

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_aud(x) if self.tower == "audio" else self.net.forward_lip(x)  # type: ignore[operator]


def sync_window_count(num_frames: int, num_samples: int) -> int:
    """How many windows `SyncNetInstance.evaluate` embeds for a clip (its `lastframe`), at least 0."""
    return max(0, min(num_frames, num_samples // (AUDIO_RATE // FPS)) - WINDOW)


def mfcc_16k(wav16k: np.ndarray) -> np.ndarray:
    """(13, M) MFCCs of 16 kHz mono audio, as upstream: python_speech_features defaults on int16-scale values."""
    import python_speech_features

    wav = np.asarray(wav16k)
    if wav.ndim != 1:
        raise ValueError(f"audio must be mono 16 kHz samples (1-D); got shape {wav.shape}")
    if np.issubdtype(wav.dtype, np.floating):
        if wav.size and np.abs(wav).max() > 1.0:
            raise ValueError("float audio must lie in [-1, 1] (or pass int16 samples)")
        wav = np.clip(np.round(wav * 32768.0), -32768, 32767).astype(np.int16)
    elif wav.dtype != np.int16:
        raise ValueError(f"audio must be int16 or float in [-1, 1]; got {wav.dtype}")
    return np.asarray(python_speech_features.mfcc(wav, AUDIO_RATE)).T


class SyncNetEmbedder:
    """SyncNet v2 on `device`: `video_embeddings` and `audio_embeddings`, one 1024-d vector per window; each
    tower run by `runtime` (Note [Evaluation networks on the engine layer]; `weights_tag`: the export of
    these weights, None for weights of no export; `engines`: the engine folder, default the cache)."""

    def __init__(
        self,
        net: SyncNet,
        device: str = "cpu",
        batch: int = 20,
        runtime: str = "auto",
        weights_tag: str | None = None,
        engines: str | Path | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.batch = batch
        self.audio_engine, self.lip_engine = (
            open_evalnet(
                f"syncnet_v2_{t}", SyncNetTower(self.net, t), self.device, runtime, weights_tag, engines
            )
            for t in TOWERS
        )

    @torch.inference_mode()
    @strict_fp32()
    def video_embeddings(self, crops: torch.Tensor) -> torch.Tensor:
        """uint8 RGB face crops (T, 224, 224, 3) at 25 fps -> float32 (T - 4, 1024): window i = frames i..i+4."""
        if crops.dtype != torch.uint8 or crops.ndim != 4 or tuple(crops.shape[1:]) != (224, 224, 3):
            raise ValueError(
                f"crops must be uint8 RGB (T, 224, 224, 3); got {tuple(crops.shape)} {crops.dtype}"
            )
        if len(crops) < WINDOW:
            raise ValueError(f"SyncNet needs at least {WINDOW} frames; got {len(crops)}")
        bgr = crops.flip(-1).permute(3, 0, 1, 2).float()  # (3, T, 224, 224), BGR 0..255 as cv2 reads it
        out = []
        for i in range(0, len(crops) - WINDOW + 1, self.batch):
            stop = min(len(crops) - WINDOW + 1, i + self.batch)
            windows = torch.stack([bgr[:, j : j + WINDOW] for j in range(i, stop)]).to(self.device)
            out.append(self.lip_engine(windows)[0].float().cpu())
        return torch.cat(out)

    @torch.inference_mode()
    @strict_fp32()
    def audio_embeddings(self, wav16k: np.ndarray) -> torch.Tensor:
        """16 kHz mono audio (int16, or float in [-1, 1]) -> float32 (N, 1024), window i = MFCC columns
        4i..4i+19 (N = (M - 20) // 4 + 1 for M MFCC columns)."""
        mfcc = torch.from_numpy(mfcc_16k(wav16k).astype(np.float32))
        count = (mfcc.shape[1] - MFCC_WINDOW) // MFCC_STEP + 1
        if count < 1:
            raise ValueError(f"audio too short for one SyncNet window ({mfcc.shape[1]} MFCC columns < 20)")
        out = []
        for i in range(0, count, self.batch):
            stop = min(count, i + self.batch)
            windows = [mfcc[None, :, MFCC_STEP * j : MFCC_STEP * j + MFCC_WINDOW] for j in range(i, stop)]
            out.append(self.audio_engine(torch.stack(windows).to(self.device))[0].float().cpu())
        return torch.cat(out)


def load_syncnet_model(path: str | Path) -> SyncNet:
    """SyncNet from a `syncnet_v2.model` state dict (weights_only, every key and shape checked)."""
    net = SyncNet()
    _checkpoint.load_state_strict(net, _checkpoint.read_state_dict(Path(path)), "SyncNet v2")
    return net.eval()


def load_syncnet(device: str = "cpu", runtime: str = "auto") -> SyncNetEmbedder:
    """SyncNet v2 with the `syncnet_v2` weights (WeightsMissing with the fetch command when absent), run by
    `runtime`: auto | tensorrt | torch | onnxruntime (Note [Evaluation networks on the engine layer])."""
    path = _checkpoint.weights_file(SYNCNET_V2, SYNCNET_FILE, "Sync")
    return SyncNetEmbedder(load_syncnet_model(path), device, runtime=runtime, weights_tag=path.stem)
