"""FVD I3D against common_metrics_on_video_quality on real frames. `styleganv`: our preprocessing and call
against `fvd/styleganv/fvd.py`; the network is StyleGAN-V's TorchScript itself (no port), and with its file
absent here the call is checked through a stand-in TorchScript detector that honours the same `rescale` /
`resize` flags. `videogpt`: our InceptionI3d port against `fvd/videogpt/pytorch_i3d.py` with identical random
weights, and its checkpoint layout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from talkvid_fast.evalnets._inception_i3d import InceptionI3d
from talkvid_fast.evalnets.i3d import (
    I3DFeatures,
    StyleGANVDetector,
    fvd_preprocess,
    git_blob_sha1,
    load_i3d,
    load_torchscript,
    load_videogpt_i3d,
)
from tests.conftest import decode_rgb
from tests.evalnets import oracles

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit:DeprecationWarning"
)  # TorchScript is the file format

CLIPS = {
    "landscape": "positives/liveportrait__s32.mp4",  # 1280x720: width rounded up, horizontal crop
    "portrait": "positives/liveportrait__d13.mp4",  # 720x1280: vertical crop
    "square": "positives/retalking__face3.mp4",  # 590²: no crop
}


class StandIn(torch.nn.Module):
    """A small random video network with the detector's signature; `rescale` maps [0, 1] to [-1, 1] and
    `resize` resizes to 224² as the real one does, so a wrong flag changes the output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 8, kernel_size=(3, 7, 7), stride=(1, 4, 4))
        self.fc = torch.nn.Linear(8, 400)

    def forward(
        self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False
    ) -> torch.Tensor:
        if rescale:
            x = x * 2 - 1
        if resize:
            x = F.interpolate(x, size=(x.shape[2], 224, 224), mode="trilinear", align_corners=False)
        feats = self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3, 4)))
        return feats if return_features else torch.softmax(feats, dim=1)


@pytest.fixture(scope="module")
def clips(testmedia: Path) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(decode_rgb(testmedia / v, max_frames=16)) for k, v in CLIPS.items()}


@pytest.mark.parametrize("shape", list(CLIPS))
def test_preprocess_matches_upstream_on_real_frames(clips: dict[str, torch.Tensor], shape: str) -> None:
    """16 real frames: ours from uint8 (1, T, H, W, 3), upstream's `preprocess_single` from [0, 1] (C, T, H, W)."""
    fvd = oracles.styleganv_fvd()
    video = clips[shape]
    ref = fvd.preprocess_single(video.permute(3, 0, 1, 2).float() / 255.0)
    got = fvd_preprocess(video[None])
    assert got.shape == (1, 3, 16, 224, 224) == (1, *ref.shape)
    assert float((got[0] - ref).abs().max()) < 1e-6


def test_features_match_upstream_get_feats(clips: dict[str, torch.Tensor], tmp_path: Path) -> None:
    """The whole call, through a TorchScript file and our loader, against upstream's `get_feats` (its
    preprocessing, its flags) on 3 real clips batched 2 + 1: relative error < 1e-5."""
    fvd = oracles.styleganv_fvd()
    torch.manual_seed(0)
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.save(torch.jit.script(StandIn().eval()), str(path))
    detector = load_torchscript(path)
    videos = torch.stack([clips["square"][:, :590, :590]] * 2 + [clips["square"].flip(2)])
    ref = fvd.get_feats(videos.permute(0, 4, 1, 2, 3).float() / 255.0, detector, "cpu", bs=10)
    got = I3DFeatures(StyleGANVDetector(detector), batch=2)(videos)
    assert got.shape == (3, 400) and got.dtype == torch.float32
    assert oracles.max_rel_err(got, torch.from_numpy(ref)) < 1e-5


def test_not_torchscript_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "i3d_torchscript.pt"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="not a TorchScript archive"):
        load_torchscript(path)


def test_git_blob_sha1_is_gits(tmp_path: Path) -> None:
    """Against `git hash-object` (the id the repository lists for i3d_torchscript.pt)."""
    path = tmp_path / "blob.bin"
    path.write_bytes(np.random.default_rng(0).bytes(3 << 20))
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
    assert git_blob_sha1(path) == expected.stdout.strip()


def test_bad_input_fails_clearly() -> None:
    with pytest.raises(ValueError, match=r"uint8 RGB \(B, T, H, W, 3\)"):
        fvd_preprocess(torch.zeros(16, 64, 64, 3, dtype=torch.uint8))


def test_videogpt_i3d_matches_upstream_on_real_clip(clips: dict[str, torch.Tensor]) -> None:
    """Our port through our preprocessing vs VideoGPT's `preprocess_single` (x2, as its `preprocess`) and
    `get_logits` with upstream's InceptionI3d, identical random weights, one real 10-frame 1280x720 clip (the
    fewest frames common_metrics allows): max relative error < 1e-5."""
    fvd, pytorch_i3d = oracles.videogpt_fvd()
    upstream = pytorch_i3d.InceptionI3d(400, in_channels=3).eval()
    state = oracles.randomise(upstream, seed=7)
    upstream.load_state_dict(state)
    ours = InceptionI3d()
    ours.load_state_dict(state, strict=True)
    video = clips["landscape"][:10]
    ref = fvd.get_logits(upstream, torch.stack([fvd.preprocess_single(video, 224)]) * 2, "cpu")
    got = I3DFeatures(ours)(video[None])
    assert got.shape == (1, 400) and ref.abs().max() > 0.1
    assert oracles.max_rel_err(got, ref) < 1e-5


def test_videogpt_checkpoint_layout_is_upstreams(tmp_path: Path) -> None:
    """Upstream InceptionI3d's state dict (the layout of i3d_pretrained_400.pt) loads through our loader; a
    missing or renamed key is refused."""
    _, pytorch_i3d = oracles.videogpt_fvd()
    state = oracles.randomise(pytorch_i3d.InceptionI3d(400, in_channels=3), seed=8)
    path = tmp_path / "i3d_pretrained_400.pt"
    torch.save(state, path)
    net = load_videogpt_i3d(path)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    for broken, message in (
        ({k: v for k, v in state.items() if k != "Mixed_5c.b3b.bn.running_var"}, "1 missing"),
        ({k.replace("logits.", "fc."): v for k, v in state.items()}, "unexpected"),
    ):
        torch.save(broken, path)
        with pytest.raises(ValueError, match=message):
            load_videogpt_i3d(path)


def test_unknown_protocol_lists_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: styleganv, videogpt"):
        load_i3d(protocol="tfhub")
