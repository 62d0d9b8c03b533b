"""DOVER sampling: seeded temporal indices, fragment origins, small-frame upscale, aesthetic resize, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkvid_fast.quality import sampling as S
from talkvid_fast.quality.reference import fragments_ref, resize_aa_ref, temporal_indices_ref


def _offsets(plan: S.SamplingPlan, num_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The random offsets a plan used, read back from its indices and origins with the spec's grid
    (segment k starts at k * (T // segments); cell (i, j) at min(H // 7 * i, H - 32), ...); nothing re-drawn."""
    seg, aseg = num_frames // 3, num_frames // 32
    t_off = plan.tech_indices[::32] - seg * np.arange(3)
    a_off = plan.aes_indices - aseg * np.arange(32)
    hgrid = np.minimum(plan.height // 7 * np.arange(7), plan.height - 32)
    wgrid = np.minimum(plan.width // 7 * np.arange(7), plan.width - 32)
    return t_off, a_off, plan.top - hgrid[None, :, None], plan.left - wgrid[None, None, :]


@pytest.mark.parametrize(
    ("num_frames", "height", "width"), [(300, 1080, 1920), (200, 512, 512), (40, 720, 406), (7, 180, 320)]
)
def test_plan_has_the_spec_structure_and_ranges(num_frames: int, height: int, width: int) -> None:
    """Upstream's samplers (models.md 1.6): 3 clips of 32 frames at stride 2 from k * (T // 3) + offset,
    offset in [0, T // 3 - 64) (0 when T // 3 <= 64); 32 aesthetic frames, offset in [0, T // 32 - 2);
    fragment origin = cell origin + offset in [0, H // 7 - 32) (0 when H // 7 <= 32); indices mod T."""
    plan = S.make_plan(f"vid{num_frames}-scene2", num_frames, height, width)
    t_off, a_off, rh, rw = _offsets(plan, num_frames)
    for off, span in [(t_off, num_frames // 3 - 64), (a_off, num_frames // 32 - 2)]:
        if span > 0:
            assert ((off >= 0) & (off < span)).all(), off
        else:  # no room: no offset, and the indices wrap modulo T
            off[:] = 0
    assert plan.tech_indices.tolist() == temporal_indices_ref(num_frames, 3, 32, 2, t_off)
    assert plan.aes_indices.tolist() == temporal_indices_ref(num_frames, 32, 1, 2, a_off)
    for off, cell in [(rh, height // 7), (rw, width // 7)]:
        assert off.shape == (3, 7, 7)
        assert ((off >= 0) & (off < cell - 32)).all() if cell > 32 else (off == 0).all()
    assert plan.top.max() + 32 <= max(height, 224) and plan.left.max() + 32 <= max(width, 224)


def test_offsets_are_uniform_over_upstreams_ranges() -> None:
    """Over many clip ids every offset covers its whole range [0, high) uniformly, independently per draw:
    an off-by-one range, a shared offset or an unseeded/constant draw fails this."""
    n, T, H, W = 400, 300, 1080, 1920
    plans = [S.make_plan(f"clip-{i}", T, H, W) for i in range(n)]
    offs = [_offsets(p, T) for p in plans]
    samples = {
        "technical": (np.stack([o[0] for o in offs]), T // 3 - 64),
        "aesthetic": (np.stack([o[1] for o in offs]), T // 32 - 2),
        "rows": (np.stack([o[2] for o in offs]), H // 7 - 32),
        "columns": (np.stack([o[3] for o in offs]), W // 7 - 32),
    }
    for name, (x, high) in samples.items():
        flat = x.reshape(-1)
        assert flat.min() == 0 and flat.max() == high - 1, (name, flat.min(), flat.max(), high)
        # mean of a discrete uniform on [0, high): (high - 1) / 2, sd (high^2 - 1) / 12 per draw; 5 sigma
        sigma = np.sqrt((high**2 - 1) / 12 / flat.size)
        assert abs(flat.mean() - (high - 1) / 2) < 5 * sigma, (name, flat.mean())
        counts = np.bincount(flat, minlength=high)
        chi2 = float(((counts - flat.size / high) ** 2 / (flat.size / high)).sum())
        assert chi2 < high - 1 + 6 * np.sqrt(2 * (high - 1)), (name, chi2)  # chi-square, 6 sigma
        # independent draws within a plan: two draws agree with probability 1/high
        first, second = x.reshape(n, -1)[:, 0], x.reshape(n, -1)[:, 1]
        assert (first == second).mean() < 1 / high + 5 * np.sqrt(1 / high / n) + 1e-9, name
    rows, cols = samples["rows"][0], samples["columns"][0]
    assert (rows != cols).mean() > 0.9  # rows and columns are separate draws


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


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize(("height", "width"), [(360, 640), (144, 192), (1080, 608)])
def test_fragment_mosaics_equal_the_reference_of_whole_frames(height: int, width: int, device: str) -> None:
    """Note [Fragment mosaics]: the per-frame mosaics (what the pipeline now keeps), normalised, are exactly
    the NumPy fragment reference of the whole frames (small frames: of the upscaled frames, as upstream).
    On CUDA the mosaics are gathered on the device and normalised by the CUDA kernel (1e-6, as the kernel's
    own test), and the small-frame upscale's bilinear interpolation may differ by one level of rounding."""
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    rng = np.random.default_rng(height)
    frames = torch.from_numpy(rng.integers(0, 256, (96, height, width, 3), dtype=np.uint8))
    plan = S.make_plan(f"mosaic-{height}", 500, height, width)
    make = S.FragmentMosaics(plan)
    mosaics = torch.stack([make(frames[k].to(device), k) for k in range(96)])
    assert mosaics.shape == (96, 224, 224, 3) and mosaics.dtype == torch.uint8
    whole = S.upscale_frames(frames, plan.upscale) if plan.upscale is not None else frames
    want = fragments_ref(whole.numpy(), plan.top, plan.left, 32, S.MEAN, S.STD)
    got = S.mosaic_view(mosaics).cpu().numpy()
    if device == "cuda":
        assert np.abs(got - want).max() <= (1.0 / min(S.STD) if plan.upscale is not None else 0.0) + 1e-6
    else:
        assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="technical frame must be"):
        make(frames[0, :-1], 0)
    with pytest.raises(ValueError, match="technical mosaics must be"):
        S.mosaic_view(mosaics[:95])


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
