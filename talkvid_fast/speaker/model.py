"""Light-ASD (Liao et al., CVPR 2023, MIT) as our own torch module, loaded strictly from the released weights.

Note [Light-ASD layout]: the network is upstream's `ASD_Model` plus the audio-visual head of `lossAV`:
a visual encoder (3 blocks of factorised 3-D convolutions on grey 112x112 face crops, normalised as
`(x / 255 - 0.4161) / 0.1688`), an audio encoder (3 blocks of factorised 2-D convolutions on 13 MFCCs at
100 Hz, pooled 4:1 in time to the 25 fps video rate), their sum through a "bidirectional" GRU made of two
single-direction GRUs (the second runs on the time-reversed sequence) and a linear layer to 2 logits.
Upstream's score per frame is the logit of class 1 ("speaking") alone, not a softmax; a frame counts as
speaking where it is > 0 (upstream's Columbia evaluation). The released state dict is
`model.{visualEncoder,audioEncoder,GRU}.*`, `lossAV.FC.*` and `lossV.FC.*` (the visual-only auxiliary head
used in training); `load_light_asd` renames these prefixes, checks that every key matches (strict) and keeps
the auxiliary head so the load stays strict, though inference never uses it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

VIDEO_MEAN = 0.4161
VIDEO_STD = 0.1688
CROP = 112  #: side of the grey face crop
AUDIO_PER_VIDEO = 4  #: MFCC frames (100 Hz) per video frame (25 fps)
EMBED = 128

# upstream prefix -> ours (Note [Light-ASD layout])
_RENAME = (
    ("model.visualEncoder.", "visual."),
    ("model.audioEncoder.", "audio."),
    ("model.GRU.", "gru."),
    ("lossAV.FC.", "av_head."),
    ("lossV.FC.", "v_head."),
)


def _bn2(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=0.01, eps=0.001)


def _bn3(c: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(c, momentum=0.01, eps=0.001)


class AudioBlock(nn.Module):
    """Two branches (kernel 3 and 5): a conv along the MFCC axis, then one along time; summed, 1x1 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.m_3 = nn.Conv2d(cin, cout, (3, 1), padding=(1, 0), bias=False)
        self.bn_m_3 = _bn2(cout)
        self.t_3 = nn.Conv2d(cout, cout, (1, 3), padding=(0, 1), bias=False)
        self.bn_t_3 = _bn2(cout)
        self.m_5 = nn.Conv2d(cin, cout, (5, 1), padding=(2, 0), bias=False)
        self.bn_m_5 = _bn2(cout)
        self.t_5 = nn.Conv2d(cout, cout, (1, 5), padding=(0, 2), bias=False)
        self.bn_t_5 = _bn2(cout)
        self.last = nn.Conv2d(cout, cout, (1, 1), bias=False)
        self.bn_last = _bn2(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.bn_t_3(self.t_3(self.relu(self.bn_m_3(self.m_3(x))))))
        b = self.relu(self.bn_t_5(self.t_5(self.relu(self.bn_m_5(self.m_5(x))))))
        return self.relu(self.bn_last(self.last(a + b)))


class VisualBlock(nn.Module):
    """Two branches (kernel 3 and 5): a spatial conv (stride 2 when `down`), then a temporal one; summed."""

    def __init__(self, cin: int, cout: int, down: bool = False) -> None:
        super().__init__()
        stride = (1, 2, 2) if down else (1, 1, 1)
        self.relu = nn.ReLU()
        self.s_3 = nn.Conv3d(cin, cout, (1, 3, 3), stride=stride, padding=(0, 1, 1), bias=False)
        self.bn_s_3 = _bn3(cout)
        self.t_3 = nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0), bias=False)
        self.bn_t_3 = _bn3(cout)
        self.s_5 = nn.Conv3d(cin, cout, (1, 5, 5), stride=stride, padding=(0, 2, 2), bias=False)
        self.bn_s_5 = _bn3(cout)
        self.t_5 = nn.Conv3d(cout, cout, (5, 1, 1), padding=(2, 0, 0), bias=False)
        self.bn_t_5 = _bn3(cout)
        self.last = nn.Conv3d(cout, cout, (1, 1, 1), bias=False)
        self.bn_last = _bn3(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.bn_t_3(self.t_3(self.relu(self.bn_s_3(self.s_3(x))))))
        b = self.relu(self.bn_t_5(self.t_5(self.relu(self.bn_s_5(self.s_5(x))))))
        return self.relu(self.bn_last(self.last(a + b)))


class VisualEncoder(nn.Module):
    """(B, 1, T, 112, 112) normalised -> (B, T, 128): spatial max over the last feature map."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = VisualBlock(1, 32, down=True)
        self.pool1 = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.block2 = VisualBlock(32, 64)
        self.pool2 = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.block3 = VisualBlock(64, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.pool2(self.block2(self.pool1(self.block1(x)))))  # (B, C, T, h, w)
        return x.amax(dim=(3, 4)).transpose(1, 2)  # = upstream's AdaptiveMaxPool2d((1, 1)) per frame


class AudioEncoder(nn.Module):
    """(B, 1, 13, 4T) -> (B, T, 128): two 2:1 max-pools in time, then the mean over the MFCC axis."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = AudioBlock(1, 32)
        self.pool1 = nn.MaxPool2d((1, 3), stride=(1, 2), padding=(0, 1))
        self.block2 = AudioBlock(32, 64)
        self.pool2 = nn.MaxPool2d((1, 3), stride=(1, 2), padding=(0, 1))
        self.block3 = AudioBlock(64, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # upstream pools a 4-D tensor with MaxPool3d((1, 1, 3)); on (C, H, W) that is this 2-D pool
        x = self.block3(self.pool2(self.block2(self.pool1(self.block1(x)))))
        return x.mean(dim=2).transpose(1, 2)


class BiGRU(nn.Module):
    """Upstream's BGRU: GRU forward, GELU, GRU over the reversed sequence, reversed back, GELU."""

    def __init__(self, channels: int = EMBED) -> None:
        super().__init__()
        self.gru_forward = nn.GRU(channels, channels, num_layers=1, batch_first=True)
        self.gru_backward = nn.GRU(channels, channels, num_layers=1, batch_first=True)
        self.gelu = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gelu(self.gru_forward(x)[0])
        x = torch.flip(self.gru_backward(torch.flip(x, dims=[1]))[0], dims=[1])
        return self.gelu(x)


class LightASD(nn.Module):
    """audio (B, 4T, 13) float32 MFCCs, video (B, T, 112, 112) grey 0..255 -> scores (B, T) float32.

    The score is the "speaking" logit of upstream's audio-visual head (Note [Light-ASD layout]).
    """

    def __init__(self) -> None:
        super().__init__()
        self.visual = VisualEncoder()
        self.audio = AudioEncoder()
        self.gru = BiGRU(EMBED)
        self.av_head = nn.Linear(EMBED, 2)
        self.v_head = nn.Linear(EMBED, 2)  # upstream's visual-only training head: loaded, never run

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        v = ((video / 255.0 - VIDEO_MEAN) / VIDEO_STD).unsqueeze(1)
        a = audio.unsqueeze(1).transpose(2, 3)
        x = self.gru(self.audio(a) + self.visual(v))
        return self.av_head(x)[..., 1]


def upstream_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Renames a released Light-ASD state dict to our module's keys; unknown prefixes raise."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for old, new in _RENAME:
            if key.startswith(old):
                out[new + key[len(old) :]] = value
                break
        else:
            raise KeyError(
                f"unexpected key {key!r} in Light-ASD weights; prefixes: {[p for p, _ in _RENAME]}"
            )
    return out


def load_light_asd(path: str | Path) -> LightASD:
    """Builds LightASD from a released `.model` file (torch.load weights_only, strict), in eval mode."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    model = LightASD()
    model.load_state_dict(upstream_to_ours(state), strict=True)
    return model.eval()
