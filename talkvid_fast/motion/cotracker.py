"""CoTracker3 (offline and online) as this project's own, exportable PyTorch modules.

Facts: reference/models.md §2. The state dict equals the official checkpoints' key for key
(reference/state_dicts/cotracker3_{offline,online}.txt); only `time_emb` differs (window 60 vs 16).

Note [Exportable CoTracker]: upstream samples features with 5-D `grid_sample`, which TensorRT cannot build.
Both uses are rewritten as exact 4-D equivalents:
  * correlation sampling: upstream samples (B*T, C, 1, h, w) at depth 0, which is a 4-D `grid_sample` of
    (B*T, C, h, w) at the same (x, y) (border padding, align_corners=True);
  * track features: upstream samples (B, C, T, h, w) at an integer query frame t. Border padding equals
    clamping x to [0, w-1] and y to [0, h-1]; after clamping, frame t can be addressed inside the frames
    stacked along y, (B, C, T*h, w), at row y + t*h: the bilinear weight on the next frame's first row is
    then exactly 0. That is one 4-D `grid_sample` per level.
The 4-D correlation `einsum("btnhwc,bnijc->btnhwij")` becomes one batched matmul per track
((T*49) x C @ C x 49), and the refinement iterations are a Python loop that tracing unrolls.
`tests/motion/test_cotracker_upstream.py` compares both models with upstream co-tracker's own modules.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._cotracker_blocks import BasicEncoder, EfficientUpdateFormer, Mlp

STRIDE = 4
CORR_RADIUS = 3
CORR_LEVELS = 4
LATENT_DIM = 128
INPUT_DIM = 1110
MODEL_RESOLUTION = (384, 512)  #: (H, W) the predictor resizes every video to
ITERS = 6  #: refinement iterations the predictor uses


def posenc(x: Tensor, min_deg: int = 0, max_deg: int = 10) -> Tensor:
    """(..., D) -> (..., D + 2*D*(max_deg-min_deg)): x, sin(x*2^k), sin(x*2^k + pi/2)."""
    scales = torch.tensor([2.0**i for i in range(min_deg, max_deg)], dtype=x.dtype, device=x.device)
    xb = (x[..., None, :] * scales[:, None]).reshape(*x.shape[:-1], -1)
    four = torch.sin(torch.cat([xb, xb + 0.5 * math.pi], dim=-1))
    return torch.cat([x, four], dim=-1)


def sincos_time_embed(dim: int, length: int) -> Tensor:
    """float32 (1, length, dim): the 1-D sin/cos embedding of positions 0..length-1 (upstream's formula)."""
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    pos = torch.linspace(0, length - 1, length).to(torch.float64)
    out = pos[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)[None].float()


def support_offsets(radius: int = CORR_RADIUS) -> Tensor:
    """float32 (r*r, 2) x, y offsets of the support grid; index i*(2r+1)+j has x = i - r, y = j - r (upstream)."""
    d = torch.arange(-radius, radius + 1, dtype=torch.float32)
    ox, oy = torch.meshgrid(d, d, indexing="ij")
    return torch.stack([ox.reshape(-1), oy.reshape(-1)], dim=-1)


def sample_4d(fmap: Tensor, xy: Tensor, height: int, width: int) -> Tensor:
    """Bilinear samples, align_corners=True, border padding.

    fmap: float32 (B, C, H, W); xy: float32 (B, M, 2) pixel coordinates; returns (B, C, M).
    """
    scale = torch.tensor(
        [2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], dtype=xy.dtype, device=xy.device
    )
    grid = (xy * scale - 1.0)[:, :, None, :]
    out = F.grid_sample(fmap, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[..., 0]


class CoTrackerThreeBase(nn.Module):
    """Shared CoTracker3 network: feature net, correlation MLP, update transformer, time embedding."""

    def __init__(self, window_len: int) -> None:
        super().__init__()
        self.window_len = window_len
        self.iters = ITERS  #: refinement iterations used by forward (unrolled when exported)
        self.fnet = BasicEncoder(input_dim=3, output_dim=LATENT_DIM, stride=STRIDE)
        self.updateformer = EfficientUpdateFormer(depth=3, input_dim=INPUT_DIM, hidden=384, num_heads=8)
        self.corr_mlp = Mlp(49 * 49, 384, 256, tanh_gelu=False)
        self.register_buffer("time_emb", sincos_time_embed(INPUT_DIM, window_len))
        self.offsets: Tensor
        self.register_buffer("offsets", support_offsets(), persistent=False)

    # ---- features -----------------------------------------------------------------------------------
    def pyramid(self, video: Tensor) -> list[Tensor]:
        """video float32 (B, T, 3, H, W) in 0..255 -> 4 levels of L2-normalised features (B*T, 128, h/2^l, w/2^l)."""
        b, t, c, h, w = video.shape
        x = 2 * (video / 255.0) - 1.0
        f = self.fnet(x.reshape(b * t, c, h, w))
        f = f / torch.sqrt(torch.clamp(torch.sum(f * f, dim=1, keepdim=True), min=1e-12))
        levels = [f]
        for _ in range(CORR_LEVELS - 1):
            levels.append(F.avg_pool2d(levels[-1], 2, stride=2))
        return levels

    def track_support(self, fmap: Tensor, frames: Tensor, xy: Tensor, t: int) -> Tensor:
        """Support features around each query at its query frame (Note [Exportable CoTracker]).

        fmap: (B*T, C, h, w); frames: int64 (B, N); xy: float32 (B, N, 2) in this level's units.
        Returns (B, N, 49, C).
        """
        _bt, c, h, w = fmap.shape
        b, n = frames.shape
        stacked = fmap.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4).reshape(b, c, t * h, w)
        pts = xy[:, :, None, :] + self.offsets  # (B, N, 49, 2)
        px = pts[..., 0].clamp(0, w - 1)
        py = pts[..., 1].clamp(0, h - 1) + (frames.to(pts.dtype) * h)[:, :, None]
        feats = sample_4d(stacked, torch.stack([px, py], dim=-1).reshape(b, n * 49, 2), t * h, w)
        return feats.reshape(b, c, n, 49).permute(0, 2, 3, 1)

    def correlation(self, fmap: Tensor, coords: Tensor, support: Tensor) -> Tensor:
        """Correlation of the 7x7 neighbourhood of every track position with its 7x7 support features.

        fmap: (B*T, C, h, w); coords: (B, T, N, 2) in this level's units; support: (B, N, 49, C).
        Returns (B, T, N, 2401), ordered (neighbourhood, support) like upstream's einsum.
        """
        bt, c, h, w = fmap.shape
        b, t, n, _ = coords.shape
        pts = (coords[:, :, :, None, :] + self.offsets).reshape(bt, n * 49, 2)
        feat = sample_4d(fmap, pts, h, w).reshape(b, t, c, n, 49)
        lhs = feat.permute(0, 3, 1, 4, 2).reshape(b * n, t * 49, c)
        corr = torch.bmm(lhs, support.reshape(b * n, 49, c).transpose(1, 2))  # (B*N, T*49, 49)
        return corr.reshape(b, n, t, 49 * 49).permute(0, 2, 1, 3)

    def time_embed(self, t: int) -> Tensor:
        """(1, t, 1110): the time embedding, linearly resampled when t differs from the window."""
        emb = self.time_emb
        assert isinstance(emb, Tensor)
        if t == emb.shape[1]:
            return emb
        return F.interpolate(emb.permute(0, 2, 1), size=t, mode="linear").permute(0, 2, 1)

    # ---- tracking -----------------------------------------------------------------------------------
    def track(
        self, video: Tensor, queries: Tensor, iters: int | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Tracks `queries` through `video` as one window.

        video: float32 (B, T, 3, H, W) in 0..255, H and W divisible by 4; queries: float32 (B, N, 3) as
        (frame, x, y) in input pixels. Returns coords (B, T, N, 2) px, vis (B, T, N) and conf (B, T, N)
        probabilities.
        """
        b, t = video.shape[:2]
        n = queries.shape[1]
        levels = self.pyramid(video)
        frames = queries[:, :, 0].long()
        qxy = queries[:, :, 1:3] / STRIDE
        supports = [self.track_support(f, frames, qxy / 2**i, t) for i, f in enumerate(levels)]
        coords = qxy[:, None].expand(b, t, n, 2)
        vis = torch.zeros(b, t, n, dtype=video.dtype, device=video.device)
        conf = torch.zeros_like(vis)
        time_emb = self.time_embed(t)
        scale = torch.tensor(
            [MODEL_RESOLUTION[1] / STRIDE, MODEL_RESOLUTION[0] / STRIDE],
            dtype=video.dtype,
            device=video.device,
        )
        for _ in range(self.iters if iters is None else iters):  # unrolled by tracing
            corr = torch.cat(
                [
                    self.corr_mlp(self.correlation(f, coords / 2**i, s))
                    for i, (f, s) in enumerate(zip(levels, supports, strict=True))
                ],
                dim=-1,
            )  # (B, T, N, 1024)
            fwd = F.pad(coords[:, :-1] - coords[:, 1:], (0, 0, 0, 0, 0, 1)) / scale
            bwd = F.pad(coords[:, 1:] - coords[:, :-1], (0, 0, 0, 0, 1, 0)) / scale
            motion = posenc(torch.cat([fwd, bwd], dim=-1))  # (B, T, N, 84)
            x = torch.cat([vis[..., None], conf[..., None], corr, motion], dim=-1).permute(0, 2, 1, 3)
            delta = self.updateformer(x + time_emb[:, None])  # (B, N, T, 4)
            delta = delta.permute(0, 2, 1, 3)
            coords = coords + delta[..., :2]
            vis = vis + delta[..., 2]
            conf = conf + delta[..., 3]
        return coords * float(STRIDE), torch.sigmoid(vis), torch.sigmoid(conf)


class CoTrackerThreeOffline(CoTrackerThreeBase):
    """Offline model: the whole clip (segment) is one window; `time_emb` of 60 steps is resampled to T."""

    def __init__(self, window_len: int = 60) -> None:
        super().__init__(window_len)

    def forward(self, video: Tensor, queries: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """video float32 (B, T, 3, H, W) 0..255; queries (B, N, 3) -> coords, vis, conf (see `track`)."""
        return self.track(video, queries)


class CoTrackerThreeOnline(CoTrackerThreeBase):
    """Online model, one window of up to 16 frames (a shorter chunk is padded with its last frame).

    This is upstream's online forward for a single window (T <= window_len, queries inside it): exactly
    what the `paper` windows need, each window queried at its own first frame. The sliding-window state of
    upstream's streaming mode (copy-over of the overlapping 8 frames) is not used by this engine.
    """

    def __init__(self, window_len: int = 16) -> None:
        super().__init__(window_len)

    def forward(self, video: Tensor, queries: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """video float32 (B, T<=16, 3, H, W) 0..255; queries (B, N, 3) -> coords, vis, conf for the T frames."""
        t = video.shape[1]
        if t > self.window_len:
            raise ValueError(f"the online model takes windows of at most {self.window_len} frames, got {t}")
        if t < self.window_len:
            video = torch.cat([video, video[:, -1:].expand(-1, self.window_len - t, -1, -1, -1)], dim=1)
        coords, vis, conf = self.track(video, queries)
        return coords[:, :t], vis[:, :t], conf[:, :t]


def build(kind: str) -> CoTrackerThreeBase:
    """`offline` (window 60) or `online` (window 16), randomly initialised."""
    if kind == "offline":
        return CoTrackerThreeOffline()
    if kind == "online":
        return CoTrackerThreeOnline()
    raise ValueError(f"unknown CoTracker3 model {kind!r}; allowed: offline, online")


def load(kind: str, path: str) -> CoTrackerThreeBase:
    """Builds the model and loads an official checkpoint strictly (weights_only; `{"model": sd}` accepted)."""
    model = build(kind)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    model.load_state_dict(state, strict=True)
    return model.eval()
