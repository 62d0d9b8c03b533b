"""Weight set `silero_vad`: Silero VAD v6's 16 kHz model, shipped in the `silero-vad` wheel on PyPI (MIT).

`python -m talkvid_fast.weights fetch silero_vad` downloads the pinned pure-Python wheel with `pip download`,
checks its sha256, extracts `silero_vad/data/silero_vad.onnx` (2.3 MB), checks that file's sha256 and deletes
the wheel (Note [Weights from a wheel]). Its 16 kHz branch's constants are read with `onnx` (protobuf, no
pickle) and loaded strictly into our module (`load_silero`, Note [Silero weights]).
"""

from __future__ import annotations

from pathlib import Path

from ..weights import WeightFile, WeightSet, pip_download, register, sha256_of
from ..weights._wheel import extract_member, fetch_member

VERSION = "6.2.3"
WHEEL_NAME = f"silero_vad-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8"
WEIGHTS_FILE = "silero_vad.onnx"
WEIGHTS_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
IN_WHEEL = f"silero_vad/data/{WEIGHTS_FILE}"


def extract_weights(wheel: Path, folder: Path) -> Path:
    """Checks the wheel's sha256 and writes the weights file into `folder` after checking its own."""
    return extract_member(wheel, WHEEL_SHA256, IN_WHEEL, folder / WEIGHTS_FILE, WEIGHTS_SHA256)


def _fetch_from_wheel(folder: Path) -> None:
    target = folder / WEIGHTS_FILE
    done = target.is_file() and sha256_of(target) == WEIGHTS_SHA256
    fetch_member(folder, f"silero-vad=={VERSION}", WHEEL_NAME, extract_weights, done, pip_download)


SILERO_VAD = register(
    WeightSet(
        name="silero_vad",
        files=(WeightFile(WEIGHTS_FILE, sha256=WEIGHTS_SHA256, size=2327524),),
        license="MIT (snakers4/silero-vad)",
        description=f"Silero VAD v6 16 kHz voice-activity model from the silero-vad=={VERSION} wheel (PyPI)",
        fetcher=_fetch_from_wheel,
        notes=(f"wheel {WHEEL_NAME} sha256 {WHEEL_SHA256}",),
    )
)
