"""DOVER sampling: seeded temporal indices, fragment origins, small-frame upscale, aesthetic resize, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.quality import sampling as S
from talkvid_fast.quality.reference import fragments_ref, resize_aa_ref, temporal_indices_ref


def _drawn_offsets(clip_id: str, num_frames: int, height: int, width: int):
    """Re-draws the documented sequence (Note [Seeded sampling]) with the clip's generator."""
    rng = np.random.default_rng(S.clip_seed(clip_id))
    seg = num_frames // 3
    t_off = rng.integers(0, seg - 64, size=3) if seg > 64 else np.zeros(3, np.int64)
    aseg = num_frames // 32
    a_off = rng.integers(0, aseg - 2, size=32) if aseg > 2 else np.zeros(32, np.int64)
    hl, wl = height // 7, width // 7
    rh = rng.integers(0, hl - 32, size=(7, 7, 3)) if hl > 32 else np.zeros((7, 7, 3), np.int64)
    rw = rng.integers(0, wl - 32, size=(7, 7, 3)) if wl > 32 else np.zeros((7, 7, 3), np.int64)
    return t_off, a_off, rh, rw


@pytest.mark.parametrize(
    ("num_frames", "height", "width"), [(300, 1080, 1920), (200, 512, 512), (40, 720, 406), (7, 180, 320)]
)
def test_plan_matches_spec(num_frames: int, height: int, width: int) -> None:
    clip_id = f"vid{num_frames}-scene2"
    plan = S.make_plan(clip_id, num_frames, height, width)
    t_off, a_off, rh, rw = _drawn_offsets(clip_id, num_frames, height, width)
    assert plan.tech_indices.tolist() == temporal_indices_ref(num_frames, 3, 32, 2, t_off)
    assert plan.aes_indices.tolist() == temporal_indices_ref(num_frames, 32, 1, 2, a_off)
    assert plan.tech_indices.shape == (96,) and plan.aes_indices.shape == (32,)
    assert plan.tech_indices.min() >= 0 and plan.tech_indices.max() < num_frames
    for c in range(3):
        for i in range(7):
            for j in range(7):
                assert plan.top[c, i, j] == min(height // 7 * i, height - 32) + rh[i, j, c]
                assert plan.left[c, i, j] == min(width // 7 * j, width - 32) + rw[i, j, c]
    if num_frames // 3 > 64:
        assert ((t_off >= 0) & (t_off < num_frames // 3 - 64)).all()


def test_plan_is_deterministic_per_clip_id() -> None:
    a = S.make_plan("v-scene1", 500, 720, 1280)
    b = S.make_plan("v-scene1", 500, 720, 1280)
    c = S.make_plan("v-scene2", 500, 720, 1280)
    assert np.array_equal(a.tech_indices, b.tech_indices) and np.array_equal(a.top, b.top)
    assert not (np.array_equal(a.tech_indices, c.tech_indices) and np.array_equal(a.top, c.top))


def test_short_clip_wraps_modulo() -> None:
    plan = S.make_plan("short", 50, 224, 224)
    seg = 50 // 3
    want = [(k * seg + 2 * f) % 50 for k in range(3) for f in range(32)]
    assert plan.tech_indices.tolist() == want
    assert plan.aes_indices.tolist() == [k * (50 // 32) for k in range(32)]


def test_small_frames_upscaled_with_grid_from_source_size() -> None:
    plan = S.make_plan("tiny-source", 98, 144, 192)
    assert plan.upscale == pytest.approx(224 / 144)
    assert plan.top[0, :, 0].tolist() == [0, 20, 40, 60, 80, 100, 112]  # from H = 144, not the upscaled 224
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (96, 144, 192, 3), dtype=np.uint8))
    assert plan.upscale is not None
    up = S.upscale_frames(frames, plan.upscale)
    # floor(144 * (1 / (144 / 224))) = floor(223.99999999999997) = 223, exactly as upstream
    assert up.shape == (96, 223, 298, 3) and up.dtype == torch.uint8
    # upstream: bilinear on v / 255 of the (C, T, H, W) video, * 255, truncated to uint8
    video = frames.permute(3, 0, 1, 2)
    ref = torch.nn.functional.interpolate(video / 255.0, scale_factor=plan.upscale, mode="bilinear") * 255.0
    assert torch.equal(up.permute(3, 0, 1, 2), ref.type_as(video))
    view = S.technical_view(frames, plan)
    want = fragments_ref(up.numpy(), plan.top, plan.left, 32, S.MEAN, S.STD)
    assert np.array_equal(view.numpy().reshape(want.shape), want)


def test_too_small_frames_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        S.make_plan("x", 100, 24, 320)


def test_technical_view_equals_reference() -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (96, 360, 640, 3), dtype=np.uint8)
    plan = S.make_plan("tech-ref", 400, 360, 640)
    out = S.technical_view(torch.from_numpy(frames), plan)
    assert out.shape == (3, 3, 32, 224, 224) and out.dtype == torch.float32
    assert np.array_equal(out.numpy(), fragments_ref(frames, plan.top, plan.left, 32, S.MEAN, S.STD))
    with pytest.raises(ValueError, match="technical frames must be"):
        S.technical_view(torch.from_numpy(frames[:95]), plan)


def test_aesthetic_resize_matches_antialiased_reference() -> None:
    rng = np.random.default_rng(2)
    for h, w in [(360, 640), (500, 300), (144, 192)]:
        frames = rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8)
        got = S.resize_aesthetic(torch.from_numpy(frames)).numpy().astype(np.float64)
        ref = resize_aa_ref(frames)
        assert got.shape == (2, 224, 224, 3)
        assert np.abs(got - ref).max() <= 0.5 + 5e-3  # rounding of the float32 result only
        assert (got != np.round(ref)).mean() < 2e-2  # only near-ties (x.5 in float64) may round either way
    # antialiasing matters: plain bilinear differs on a downscale
    plain = torch.nn.functional.interpolate(
        torch.from_numpy(frames).permute(0, 3, 1, 2).float(),
        size=(224, 224),
        mode="bilinear",
        align_corners=False,
    )
    assert not torch.equal(
        plain.round().to(torch.uint8).permute(0, 2, 3, 1), S.resize_aesthetic(torch.from_numpy(frames))
    )


def test_aesthetic_view_normalises() -> None:
    frames = torch.from_numpy(np.random.default_rng(3).integers(0, 256, (32, 224, 224, 3), dtype=np.uint8))
    view = S.aesthetic_view(frames)
    assert view.shape == (1, 3, 32, 224, 224)
    want = (frames.numpy().astype(np.float32) - np.asarray(S.MEAN, np.float32)) / np.asarray(
        S.STD, np.float32
    )
    assert np.array_equal(view[0].numpy(), want.transpose(3, 0, 1, 2))
    resized = S.aesthetic_view(torch.zeros(32, 100, 120, 3, dtype=torch.uint8))
    assert resized.shape == (1, 3, 32, 224, 224)
