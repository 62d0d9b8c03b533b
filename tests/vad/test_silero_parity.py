"""Our Silero VAD module against upstream's own runtime (`silero_vad.load_silero_vad(onnx=True)`, its
`OnnxWrapper.audio_forward`: the ONNX model stepped chunk by chunk) with the same real weights, on the audio
of real clips and on made signals. Tolerance: 1e-5 absolute on every probability (float32; measured <= 1e-6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.segment import load_audio_16k
from talkvid_fast.vad.silero import SileroVAD, load_silero, onnx_state_dict

CLIPS = (
    "positives/sadtalker__WDA_KatieHill_000.mp4",  # speech
    "positives/retalking__face1.mp4",  # speech with a long pause
    "positives/liveportrait__d6.mp4",  # a song, 33.6 s
    "negatives/liveportrait__s13.mp4",  # a song, 4.1 s (not a multiple of the chunk)
)


def upstream_probs(audio: np.ndarray) -> np.ndarray:
    from silero_vad import load_silero_vad

    model = load_silero_vad(onnx=True)
    x = torch.from_numpy(audio.astype(np.float32) / 32768.0)[None]
    return np.asarray(model.audio_forward(x, 16000)[0].numpy())


def ours(path: Path, audio: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(audio.astype(np.float32) / 32768.0)[None]
    with torch.inference_mode():
        return np.asarray(load_silero(path)(x)[0].numpy())


@pytest.mark.parametrize("clip", CLIPS)
def test_real_audio_matches_upstream(silero_onnx: Path, testmedia: Path, clip: str) -> None:
    audio = load_audio_16k(str(testmedia / clip))
    got, want = ours(silero_onnx, audio), upstream_probs(audio)
    assert got.shape == want.shape == (-(-len(audio) // 512),)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_made_signals_match_upstream(silero_onnx: Path) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(16_000 * 3) / 16_000
    signals = {
        "silence": np.zeros(16_000, np.int16),
        "noise": (rng.normal(0, 3000, 16_000 * 2)).astype(np.int16),
        "tone": (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16),
        "one chunk": (rng.normal(0, 3000, 512)).astype(np.int16),
    }
    for name, audio in signals.items():
        np.testing.assert_allclose(
            ours(silero_onnx, audio), upstream_probs(audio), atol=1e-5, rtol=0, err_msg=name
        )


def test_the_onnx_constants_fill_our_module_exactly(silero_onnx: Path) -> None:
    """Every key of our module, with its shape, comes from the ONNX file's 16 kHz branch (strict load)."""
    sd = onnx_state_dict(silero_onnx)
    want = SileroVAD().state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {k: tuple(v.shape) for k, v in want.items()}


def test_another_onnx_file_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="not Silero VAD v6's ONNX model"):
        load_silero(path)


def test_blockwise_encoding_matches_upstream(
    silero_onnx: Path, testmedia: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long audio is encoded a block of chunks at a time (bounded memory): with blocks of 100 chunks, d6's
    1051 chunks still match upstream's chunk-by-chunk run."""
    import talkvid_fast.vad.silero as silero

    monkeypatch.setattr(silero, "ENCODE_BLOCK", 100)
    audio = load_audio_16k(str(testmedia / "positives/liveportrait__d6.mp4"))
    np.testing.assert_allclose(ours(silero_onnx, audio), upstream_probs(audio), atol=1e-5, rtol=0)
