"""Note [Metrics in fp32]: every evaluation network call runs with TF32 off and gives the caller's flags back."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from talkvid_fast.evalnets import I3DFeatures, InceptionFeatures, SyncNetEmbedder


class Recorder(nn.Module):
    """Records the TF32 flags seen inside forward; returns zeros of the expected width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        self.seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
        return torch.zeros(len(x), self.width)

    forward_lip = forward
    forward_aud = forward


def test_tf32_off_inside_every_call_and_restored_after() -> None:
    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = True, True
    try:
        inception, i3d, sync = Recorder(2048), Recorder(400), Recorder(1024)
        InceptionFeatures(inception)(torch.zeros(1, 8, 8, 3, dtype=torch.uint8))  # type: ignore[arg-type]
        I3DFeatures(i3d)(torch.zeros(1, 2, 8, 8, 3, dtype=torch.uint8))
        embedder = SyncNetEmbedder(sync)  # type: ignore[arg-type]
        embedder.video_embeddings(torch.zeros(5, 224, 224, 3, dtype=torch.uint8))
        embedder.audio_embeddings(np.zeros(4000, np.int16))
        assert inception.seen == i3d.seen == [(False, False)]
        assert sync.seen == [(False, False)] * 2
        assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == (True, True)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
