"""wav2vec2 audio features: "not run" with the fetch command when the weights are absent; with a tiny
random-config checkpoint laid out as facebook/wav2vec2-base-960h's (Wav2Vec2ForCTC, safetensors), the
features equal the encoder's own output on the normalised WAV, in V-Express's (T, 1, d) layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from talkvid_fast.prepare._driver import _features
from talkvid_fast.prepare._layouts import Layout
from talkvid_fast.prepare._source import PrepareParams, SourcePreparer
from talkvid_fast.stages import StageUnavailable

from .test_alignment import OneFace, _source

PARAMS = PrepareParams(format="vexpress", fps=24.0, size=64, audio_features="wav2vec2_base_960h")


def test_absent_weights_say_not_run_with_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    features, state = _features(PARAMS)
    assert features is None
    assert state.startswith("not run: wav2vec2_base_960h weights not found")
    assert "python -m talkvid_fast.weights fetch wav2vec2_base_960h" in state


def _tiny_checkpoint(folder: Path) -> Any:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
        conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, vocab_size=12,
    )  # fmt: skip
    model = transformers.Wav2Vec2ForCTC(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    transformers.Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=False).save_pretrained(
        folder
    )
    return model


def test_features_equal_the_encoder_on_the_normalised_wav(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))
    folder = tmp_path / "home" / "weights" / "wav2vec2_base_960h"
    model = _tiny_checkpoint(folder)
    features, state = _features(PARAMS)
    assert state == "wav2vec2_base_960h", state

    src = _source(tmp_path / "flash.mp4")
    clip = {"clip_id": "flash-scene1", "start": 0.5, "end": 2.3, "start_frame": 13, "end_frame": 58}
    layout = Layout("vexpress", tmp_path / "out")
    _, (rec,) = SourcePreparer(PARAMS, layout, OneFace(), features).source(str(src), None, [clip])
    assert rec["status"] == "ok", rec
    import wave

    with wave.open(str(layout.root / rec["files"]["audio"])) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16) / 32768.0
    got = np.load(layout.root / rec["files"]["audio_embeds"])["global_embeds"]
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)  # Wav2Vec2FeatureExtractor's zero-mean unit-variance
    with torch.no_grad():
        ref = model.wav2vec2(torch.tensor(x, dtype=torch.float32)[None]).last_hidden_state[0]
    n = len(x)
    t = ((n - 10) // 5 + 1 - 3) // 2 + 1  # the two convolutions' output length
    assert got.shape == (t, 1, 32)
    np.testing.assert_allclose(got[:, 0], ref.numpy(), atol=1e-4)


def test_a_checkpoint_without_the_encoder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")  # brings safetensors
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path))
    folder = tmp_path / "weights" / "wav2vec2_base_960h"
    _tiny_checkpoint(folder)
    state = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in state.items() if "encoder.layers.1." not in k}, folder / "model.safetensors")
    from talkvid_fast.prepare._audio_features import AudioFeatures

    with pytest.raises(StageUnavailable, match=r"lacks encoder weights .*encoder\.layers\.1\."):
        AudioFeatures.load(torch.device("cpu"))
