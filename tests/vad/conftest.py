"""Silero VAD fixtures: upstream's own model file from the installed silero-vad 6.2.3 wheel (the oracle's copy),
and a weights home that holds it where `weights fetch silero_vad` puts it (no network)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def silero_onnx() -> Path:
    sv = pytest.importorskip("silero_vad", reason="pip install silero-vad==6.2.3")
    from talkvid_fast.vad.weights import WEIGHTS_FILE

    path = Path(sv.__file__).parent / "data" / WEIGHTS_FILE
    if not path.is_file():
        pytest.skip(f"{path} missing from the installed wheel")
    return path


@pytest.fixture
def silero_home(
    silero_onnx: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.getbasetemp() / "silero_home"
    target = home / "weights" / "silero_vad" / silero_onnx.name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(silero_onnx, target)
    monkeypatch.setenv("TALKVID_FAST_HOME", str(home))
    return home
