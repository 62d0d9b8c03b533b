"""Note [Metrics in fp32]: the evaluation networks run in true fp32 on every device.

PyTorch lets cuDNN convolutions use TF32 on Ampere and later GPUs by default (`cudnn.allow_tf32` is True),
which rounds the inputs of every convolution to 10 mantissa bits (about 1e-3 relative precision), enough to
move an FID or FVD in its reported digits. Metrics must not depend on the
GPU they ran on, so every call of an evaluation network switches TF32 off for its duration (convolutions
and matmuls, through the legacy flags that set cuDNN's conv and RNN alike) and restores the caller's
settings afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def strict_fp32() -> Iterator[None]:
    """TF32 off for cuDNN and CUDA matmuls inside the block; the previous flags come back after it."""
    cudnn, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = cudnn
        torch.backends.cuda.matmul.allow_tf32 = matmul
