"""FID Inception-v3 against pytorch-fid's own `InceptionV3([3])` (identical random weights, real frames) and
the strict loading of its checkpoint layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.evalnets.inception import (
    FIDInception,
    InceptionFeatures,
    fid_preprocess,
    load_fid_inception,
)
from tests.conftest import decode_rgb
from tests.evalnets import oracles

CLIP = "positives/sadtalker__WDA_KatieHill_000.mp4"  # 512x512: resized up to 299 is a real bilinear resample
WIDE = "positives/liveportrait__s32.mp4"  # 1280x720: non-square, downscale


def test_matches_pytorch_fid_on_real_frames(testmedia: Path) -> None:
    """Whole path, uint8 frames -> pool3, against pytorch-fid (its resize, normalisation and network) with
    the same random weights: max relative error < 1e-5 on 512² and 1280x720 frames."""
    with oracles.pytorch_fid() as inception:  # first: skips before any work when the oracle is absent
        ours = FIDInception()
        state = oracles.randomise(ours, seed=0)
        ours.load_state_dict(state)
        features = InceptionFeatures(ours)
        upstream = oracles.fid_upstream(inception, state)
        for clip in (CLIP, WIDE):
            frames = torch.from_numpy(decode_rgb(testmedia / clip, max_frames=1))
            x = frames.permute(0, 3, 1, 2).float() / 255.0  # its ToTensor
            with torch.inference_mode():
                ref = upstream(x)[0].flatten(1)
            got = features(frames)
            assert got.shape == (1, 2048) and got.dtype == torch.float32
            assert ref.abs().max() > 0.1  # the random network passes signal through
            assert oracles.max_rel_err(got, ref) < 1e-5, clip


def test_checkpoint_layout_is_pytorch_fids(tmp_path: Path) -> None:
    """Our loader reads a file with exactly the key/shape list of the module pytorch-fid loads its checkpoint
    into (num_batches_tracked included or not), and rejects one with a key missing or renamed."""
    with oracles.pytorch_fid() as inception:
        state = oracles.randomise(FIDInception(), seed=1)
        layout = oracles.fid_checkpoint_net(inception, state).state_dict()
    path = tmp_path / "pt_inception.pth"
    torch.save(layout, path)
    net = load_fid_inception(str(path))
    assert all(torch.equal(net.state_dict()[k], v) for k, v in layout.items())

    without_counts = {k: v for k, v in layout.items() if not k.endswith("num_batches_tracked")}
    torch.save(without_counts, path)
    load_fid_inception(str(path))

    missing = dict(layout)
    del missing["Mixed_7c.branch_pool.bn.running_var"]
    torch.save(missing, path)
    with pytest.raises(ValueError, match="1 missing"):
        load_fid_inception(str(path))
    renamed = {k.replace("Mixed_6e.", "Mixed_6f."): v for k, v in layout.items()}
    torch.save(renamed, path)
    with pytest.raises(ValueError, match="unexpected"):
        load_fid_inception(str(path))


def test_preprocess_bilinear_half_pixel_and_range() -> None:
    """Independent check of the resize: a horizontal ramp 0..255 over 598 px downscaled by exactly 2 gives
    the mean of each pixel pair (half-pixel centres), mapped to [-1, 1]; bad input fails with the layout."""
    ramp = torch.arange(598, dtype=torch.float64) * (255 / 597)
    row = torch.round(ramp).to(torch.uint8)
    frames = row[None, None, :, None].expand(1, 598, 598, 3).contiguous()
    x = fid_preprocess(frames)
    assert x.shape == (1, 3, 299, 299)
    pairs = row.double().reshape(299, 2).mean(1) / 255.0
    np.testing.assert_allclose(x[0, 1, 100].double().numpy(), (2 * pairs - 1).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="uint8 RGB"):
        fid_preprocess(frames.float())
