"""The `dover` weight set: DOVER.pth (default) and DOVER_plus_plus.pth (same architecture and keys)."""

from __future__ import annotations

from ..weights import WeightFile, WeightSet, register

DOVER_FILES = ("DOVER.pth", "DOVER_plus_plus.pth")

DOVER = register(
    WeightSet(
        name="dover",
        files=(
            # sha256 unknown here (no network to hash the release); the strict key/shape/dtype check still runs.
            WeightFile(
                "DOVER.pth",
                url="https://github.com/QualityAssessment/DOVER/releases/download/v0.1.0/DOVER.pth",
            ),
            WeightFile(
                "DOVER_plus_plus.pth",
                url="https://huggingface.co/teowu/DOVER/resolve/main/DOVER_plus_plus.pth",
            ),
        ),
        license="S-Lab License 1.0 (non-commercial)",
        description="DOVER quality model (ICCV 2023): technical Swin3D-T + aesthetic ConvNeXt3D-T",
        notes=(
            "DOVER.pth mirror: https://huggingface.co/teowu/DOVER/resolve/main/DOVER.pth",
            "DOVER_plus_plus.pth: trained on DIVIDE-MaxWell; same keys as DOVER.pth",
        ),
    )
)
