"""Silero VAD v6 (MIT, snakers4/silero-vad): our torch module for the 16 kHz model, loaded strictly with the
weights of the ONNX model its PyPI wheel ships (Note [Silero VAD], Note [Silero weights]).

Note [Silero VAD]: upstream runs the model one 32 ms chunk at a time: 512 new samples behind the last 64
samples of the previous chunk (zeros before the first), reflect-padded by 64 on the right, a 256-point STFT
as a convolution (stride 128: 4 frames), four convolutions down to one 128-wide step, an LSTM cell whose
state runs across the chunks, and a 1x1 convolution + sigmoid: one speech probability per chunk. The
convolutions see one chunk each, so ours runs them on every chunk of the clip in one batch and only the LSTM
cell steps through time. Parity with upstream's own ONNX model (`silero_vad.onnx` from the same wheel)
on real clips: `tests/vad/test_silero_parity.py`. The model is 0.3 M parameters and runs on the CPU: a
minute of audio takes about 0.14 s of one core (bench/results/open_vad_cpu.md), small beside decoding that
minute's video, so it is not worth a GPU engine.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 16_000
CHUNK = 512  #: new samples per step (32 ms)
CONTEXT = 64  #: samples of the previous chunk each step also sees
HOP_S = CHUNK / SAMPLE_RATE  #: seconds per probability
ENCODE_BLOCK = 4096  #: chunks (131 s) encoded per convolution call


class SileroVAD(nn.Module):
    """Speech probability per 32 ms chunk of 16 kHz audio (upstream's 16 kHz branch)."""

    def __init__(self) -> None:
        super().__init__()
        self.stft_conv = nn.Conv1d(1, 258, kernel_size=256, stride=128, bias=False)  # real | imaginary rows
        self.conv1 = nn.Conv1d(129, 128, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(128, 64, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(64, 64, kernel_size=3, stride=2, padding=1)
        self.conv4 = nn.Conv1d(64, 128, kernel_size=3, padding=1)
        self.lstm_cell = nn.LSTMCell(128, 128)
        self.final_conv = nn.Conv1d(128, 1, 1)

    def encode(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, CONTEXT + CHUNK) -> (N, 128): the per-chunk features the LSTM cell reads."""
        x = F.pad(windows.unsqueeze(1), (0, CONTEXT), mode="reflect")
        x = self.stft_conv(x)
        x = torch.sqrt(x[:, :129] ** 2 + x[:, 129:] ** 2)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = F.relu(conv(x))
        return x.squeeze(-1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, T) float audio in [-1, 1] -> (B, ceil(T / CHUNK)) speech probabilities (the last chunk is
        zero-padded, as upstream's `audio_forward`)."""
        b, t = audio.shape
        n = -(-t // CHUNK)
        x = F.pad(audio, (CONTEXT, n * CHUNK - t))
        windows = x.unfold(1, CONTEXT + CHUNK, CHUNK).reshape(b * n, -1)  # chunk k with its context
        # a block of chunks at a time: an hour of audio would otherwise hold ~1 GB of STFT activations
        feats = torch.cat([self.encode(w) for w in windows.split(ENCODE_BLOCK)]).reshape(b, n, -1)
        h = feats.new_zeros(b, 128)
        c = feats.new_zeros(b, 128)
        steps = []
        for k in range(n):
            h, c = self.lstm_cell(feats[:, k], (h, c))
            steps.append(h)
        hs = F.relu(torch.stack(steps, dim=2))  # (B, 128, n)
        return torch.sigmoid(self.final_conv(hs)).squeeze(1)


# Note [Silero weights]: the wheel also ships `silero_vad_16k.safetensors` (for its tinygrad example), but its
# weights are not those of the model the package runs (`load_silero_vad`: the TorchScript and ONNX files agree
# to 1e-6; the safetensors file differs from them in every layer but the STFT basis). So we read the ONNX
# model's constants: its graph branches on the sample rate and the 16 kHz branch's constants carry upstream's
# module names, mapped here onto ours.
_ONNX_BRANCH = "If_0_then_branch__Inline_0__"
_ONNX_NAMES = {
    "stft_conv.weight": "stft.forward_basis_buffer",
    **{f"conv{i + 1}.{p}": f"encoder.{i}.reparam_conv.{p}" for i in range(4) for p in ("weight", "bias")},
    **{f"lstm_cell.{p}": f"decoder.rnn.{p}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
    "final_conv.weight": "decoder.decoder.2.weight",
    "final_conv.bias": "decoder.decoder.2.bias",
}


def onnx_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Our module's state dict from the constants of upstream's `silero_vad.onnx` (16 kHz branch)."""
    import onnx
    from onnx import numpy_helper

    found: dict[str, np.ndarray] = {}

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR and node.output[0].startswith(_ONNX_BRANCH):
                    found[node.output[0][len(_ONNX_BRANCH) :]] = numpy_helper.to_array(attr.t)
                elif attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(onnx.load(str(path)).graph)
    missing = [name for name in _ONNX_NAMES.values() if name not in found]
    if missing:
        raise ValueError(f"{path}: not Silero VAD v6's ONNX model (no 16 kHz constants {missing})")
    return {ours: torch.from_numpy(found[theirs].copy()) for ours, theirs in _ONNX_NAMES.items()}


def load_silero(path: Path) -> SileroVAD:
    """Our module with upstream's weights (strict: every key and shape must match)."""
    model = SileroVAD()
    model.load_state_dict(onnx_state_dict(path), strict=True)
    return model.eval()


_LOADED: dict[str, SileroVAD] = {}
# Note [Speech once]: stage 1's speech gate and the speaker stage's speech frames ask for the same clip's audio
# (the same samples, decoded the same way), so the second asks this cache instead of the model: a few recent
# clips' probabilities, keyed by a hash of the samples (2 ms a minute of audio, against 140 ms for the model).
_RECENT: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()
_RECENT_MAX = 16
_LOCK = threading.Lock()


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """float32 (ceil(n / 512),): Silero's speech probability per 32 ms chunk of int16 mono 16 kHz audio
    (chunk k covers samples 512 k .. 512 k + 511), read-only. The weights come from the cache (`weights fetch
    silero_vad`)."""
    from ..weights import locate
    from .weights import SILERO_VAD, WEIGHTS_FILE

    path = locate(SILERO_VAD, WEIGHTS_FILE)
    samples = np.ascontiguousarray(audio, np.int16)
    key = (str(path), hashlib.blake2b(samples.tobytes(), digest_size=16).digest())
    with _LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key]
        model = _LOADED.get(str(path))
        if model is None:
            model = _LOADED[str(path)] = load_silero(path)
    if len(samples) == 0:
        probs = np.zeros(0, np.float32)
    else:
        with torch.inference_mode():
            probs = model(torch.from_numpy(samples.astype(np.float32) / 32768.0)[None])[0].numpy()
    probs.setflags(write=False)
    with _LOCK:
        _RECENT[key] = probs
        while len(_RECENT) > _RECENT_MAX:
            _RECENT.popitem(last=False)
    return probs
