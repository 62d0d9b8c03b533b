"""`python -m talkvid_fast.weights fetch silero_vad`: the ONNX model taken out of a stand-in for the pinned
silero-vad wheel (pip replaced by a local copy), both hashes checked, nothing else left in the cache."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from talkvid_fast.vad import weights as sw
from talkvid_fast.weights import fetch, locate, set_dir, sha256_of


def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, payload: Path | bytes) -> Path:
    wheel = tmp_path / sw.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("silero_vad/__init__.py", "")
        if isinstance(payload, Path):
            zf.write(payload, sw.IN_WHEEL)
        else:
            zf.writestr(sw.IN_WHEEL, payload)
    code = f"import shutil, sys; shutil.copy({str(wheel)!r}, sys.argv[1])"
    monkeypatch.setattr(sw, "pip_download", lambda req, dest: [sys.executable, "-c", code, dest])
    return wheel


def test_fetch_extracts_the_pinned_onnx(
    silero_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))
    assert sha256_of(silero_onnx) == sw.WEIGHTS_SHA256  # the installed wheel holds the pinned file
    wheel = serve(monkeypatch, tmp_path, silero_onnx)
    monkeypatch.setattr(sw, "WHEEL_SHA256", sha256_of(wheel))  # our stand-in, not PyPI's bytes
    fetch(sw.SILERO_VAD)
    path = locate(sw.SILERO_VAD, sw.WEIGHTS_FILE)
    assert sorted(p.name for p in set_dir("silero_vad").iterdir()) == [sw.WEIGHTS_FILE] and path.is_file()


def test_fetch_refuses_tampered_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))
    wheel = serve(monkeypatch, tmp_path, b"not the model")
    with pytest.raises(OSError, match=rf"{sw.WHEEL_NAME}: sha256 [0-9a-f]+ != pinned"):
        fetch(sw.SILERO_VAD)
    monkeypatch.setattr(sw, "WHEEL_SHA256", sha256_of(wheel))
    with pytest.raises(OSError, match=rf"sha256 [0-9a-f]+ != pinned {sw.WEIGHTS_SHA256}"):
        fetch(sw.SILERO_VAD)
    assert list(set_dir("silero_vad").iterdir()) == []
