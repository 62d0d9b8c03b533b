"""SyncNet v2 against joonson/syncnet_python's `S` (identical random weights) on real face frames and real
speech, with the windows cut as `SyncNetInstance.evaluate` cuts them; strict loading of its state dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from talkvid_fast.evalnets.syncnet import (
    SyncNet,
    SyncNetEmbedder,
    load_syncnet_model,
    mfcc_16k,
    sync_window_count,
)
from tests.conftest import decode_rgb
from tests.evalnets import oracles

CLIP = "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4"  # 512², 25 fps, 16 kHz speech


def audio_16k(path: Path, seconds: float) -> np.ndarray:
    """int16 mono 16 kHz samples, as ffmpeg's `-ac 1 -ar 16000 pcm_s16le` in upstream (here PyAV)."""
    import av

    out: list[np.ndarray] = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        for frame in container.decode(audio=0):
            out.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(frame))
    return np.concatenate(out)[: int(seconds * 16000)]


@pytest.fixture(scope="module")
def nets() -> tuple[SyncNetEmbedder, Any]:
    upstream = oracles.syncnet_model().S(num_layers_in_fc_layers=1024).eval()
    state = oracles.randomise(upstream, seed=3)
    upstream.load_state_dict(state)
    ours = SyncNet()
    ours.load_state_dict(state, strict=True)
    return SyncNetEmbedder(ours, batch=2), upstream


def test_video_embeddings_match_upstream(testmedia: Path, nets: tuple[SyncNetEmbedder, Any]) -> None:
    """RGB uint8 crops in; upstream gets what cv2 would give it (BGR float 0..255), window i = frames i..i+4,
    as `imtv[:, :, i:i + 5]`: max relative error < 1e-5 over the T - 4 = 3 windows."""
    embedder, upstream = nets
    rgb = decode_rgb(testmedia / CLIP, max_frames=7)[:, 144:368, 144:368]  # a 224² crop of the face
    bgr = rgb[..., ::-1].astype(float)  # cv2.imread order
    im = np.transpose(
        np.expand_dims(np.stack(list(bgr), axis=3), 0), (0, 3, 4, 1, 2)
    )  # as evaluate: (1,3,T,H,W)
    imtv = torch.from_numpy(im).float()
    with torch.inference_mode():
        ref = upstream.forward_lip(torch.cat([imtv[:, :, i : i + 5] for i in range(3)], 0))
    got = embedder.video_embeddings(torch.from_numpy(np.ascontiguousarray(rgb)))
    assert got.shape == (3, 1024)
    assert oracles.max_rel_err(got, ref) < 1e-5


def test_audio_embeddings_match_upstream(testmedia: Path, nets: tuple[SyncNetEmbedder, Any]) -> None:
    """Real speech: python_speech_features.mfcc on the int16 samples, window i = MFCC columns 4i..4i+19 (as
    `cct[:, :, :, 4i:4i + 20]`): max relative error < 1e-5; float input in [-1, 1] gives the same."""
    import python_speech_features

    embedder, upstream = nets
    wav = audio_16k(testmedia / CLIP, seconds=0.44)  # 43 MFCC columns -> 6 full windows
    mfcc = np.stack([np.array(c) for c in zip(*python_speech_features.mfcc(wav, 16000), strict=True)])
    assert mfcc.shape == (13, 43)
    cct = torch.from_numpy(np.expand_dims(np.expand_dims(mfcc, 0), 0).astype(float)).float()
    with torch.inference_mode():
        ref = upstream.forward_aud(torch.cat([cct[:, :, :, 4 * i : 4 * i + 20] for i in range(6)], 0))
    got = embedder.audio_embeddings(wav)
    assert got.shape == (6, 1024)
    assert oracles.max_rel_err(got, ref) < 1e-5
    assert oracles.max_rel_err(embedder.audio_embeddings(wav / 32768.0), ref) < 1e-5


def test_window_count_is_evaluates_lastframe() -> None:
    """`lastframe = min(len(images), floor(len(audio) / 640)) - 5` in SyncNetInstance.evaluate."""
    assert sync_window_count(125, 80000) == 120
    assert sync_window_count(125, 64000) == 95  # audio shorter: 100 frames of it
    assert sync_window_count(125, 64639) == 95
    assert sync_window_count(4, 80000) == 0


def test_checkpoint_layout_is_upstreams(tmp_path: Path) -> None:
    """The state dict of upstream's `S` saved to a file loads through ours (also without the BatchNorm
    counters upstream's loadParameters ignores); a missing or renamed key, or a wrong shape, is refused."""
    upstream = oracles.syncnet_model().S(num_layers_in_fc_layers=1024)
    state = oracles.randomise(upstream, seed=4)
    path = tmp_path / "syncnet_v2.model"
    torch.save(state, path)
    net = load_syncnet_model(path)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    torch.save({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, path)
    load_syncnet_model(path)
    for broken, message in (
        ({k: v for k, v in state.items() if k != "netcnnlip.0.weight"}, "1 missing"),
        ({k.replace("netfclip.", "netfcvid."): v for k, v in state.items()}, "unexpected"),
        ({**state, "netfcaud.3.weight": torch.zeros(512, 512)}, "another shape"),
    ):
        torch.save(broken, path)
        with pytest.raises(ValueError, match=message):
            load_syncnet_model(path)


def test_bad_input_fails_clearly() -> None:
    embedder = SyncNetEmbedder(SyncNet())
    with pytest.raises(ValueError, match=r"uint8 RGB \(T, 224, 224, 3\)"):
        embedder.video_embeddings(torch.zeros(6, 112, 112, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="at least 5 frames"):
        embedder.video_embeddings(torch.zeros(4, 224, 224, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        mfcc_16k(np.full(16000, 2.0))
    with pytest.raises(ValueError, match="too short"):
        embedder.audio_embeddings(np.zeros(1600, np.int16))
