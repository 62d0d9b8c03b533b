"""Where exported ONNX files and built engines live, and the key that says whether an engine fits.

Note [Engine cache]: the cache folder is `--out DIR`, else `$TALKVID_FAST_HOME/engines` (default
`~/.cache/talkvid_fast/engines`), outside the repository:

    onnx/<graph>-<weights tag>.onnx                       the export TensorRT builds from
    <gpu slug>_sm<cc>/trt<version>/timing.cache           one timing cache per GPU kind and TensorRT version
    <gpu slug>_sm<cc>/trt<version>/<graph>-<precision>-<key>.engine   + .json (the key's fields)

The key is the first 16 hex digits of the sha256 of the canonical JSON of: GPU name, compute capability,
TensorRT version, ONNX sha256, the optimisation profile (min/opt/max shape of every input, in order), the
precision and the ops kept in fp32. Any change to one of them gives a new key, so a stale engine is never
picked: it is rebuilt (cheaply, through the timing cache) next to the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..weights import cache_root, sha256_of
from ._specs import GraphSpec


@dataclass(frozen=True)
class GpuInfo:
    """The GPU kind an engine is built for (engines are not portable across kinds)."""

    name: str  #: torch.cuda.get_device_properties(i).name, e.g. "NVIDIA H100 80GB HBM3"
    capability: tuple[int, int]  #: compute capability (major, minor)

    @property
    def slug(self) -> str:
        name = re.sub(r"[^A-Za-z0-9]+", "_", self.name).strip("_") or "gpu"
        return f"{name}_sm{self.capability[0]}{self.capability[1]}"


def current_gpu(device: str | int = 0) -> GpuInfo | None:
    """The GPU of `device` (index or "cuda:N"), or None when torch sees no CUDA GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    index = device if isinstance(device, int) else torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    return GpuInfo(props.name, (int(props.major), int(props.minor)))


def engine_root(out: str | Path | None = None) -> Path:
    """`out`, else `$TALKVID_FAST_ENGINES` (e.g. a folder shared by a cluster), else `$TALKVID_FAST_HOME/engines`."""
    if out is not None:
        return Path(out)
    env = os.environ.get("TALKVID_FAST_ENGINES")
    return Path(env) if env else cache_root() / "engines"


def onnx_path(root: Path, graph: str, weights_tag: str) -> Path:
    return root / "onnx" / f"{graph}-{weights_tag}.onnx"


def gpu_dir(root: Path, gpu: GpuInfo, trt_version: str) -> Path:
    return root / gpu.slug / f"trt{trt_version}"


def timing_cache_path(root: Path, gpu: GpuInfo, trt_version: str) -> Path:
    return gpu_dir(root, gpu, trt_version) / "timing.cache"


def profile_of(graph: GraphSpec) -> list[list[Any]]:
    """[[input, min, opt, max], ...] in input order: the optimisation profile as plain JSON."""
    return [[i.name, *[list(s) for s in i.profile()]] for i in graph.inputs]


@dataclass(frozen=True)
class EngineKey:
    """Everything that decides whether a built engine can serve a request (Note [Engine cache])."""

    graph: str
    gpu: str
    capability: tuple[int, int]
    trt_version: str
    onnx_sha256: str
    profile: tuple[tuple[Any, ...], ...]
    precision: str
    fp32_ops: tuple[str, ...] = ()

    @staticmethod
    def make(
        graph: GraphSpec, gpu: GpuInfo, trt_version: str, onnx_sha256: str, precision: str, fp32_ops=()
    ) -> EngineKey:
        profile = tuple(tuple(p) for p in json.loads(json.dumps(profile_of(graph))))
        return EngineKey(
            graph.name,
            gpu.name,
            gpu.capability,
            trt_version,
            onnx_sha256,
            profile,
            precision,
            tuple(fp32_ops),
        )

    def fields(self) -> dict[str, Any]:
        """The key as JSON-ready fields (the content of the .json beside the engine)."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def digest(self) -> str:
        """16 hex digits of sha256 over the canonical JSON of the fields."""
        text = json.dumps(self.fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def engine_path(self, root: Path) -> Path:
        gpu = GpuInfo(self.gpu, self.capability)
        return gpu_dir(root, gpu, self.trt_version) / f"{self.graph}-{self.precision}-{self.digest}.engine"


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def onnx_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so runtime selection hashes a file once."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _SHA_MEMO:
        _SHA_MEMO[memo] = sha256_of(path)
    return _SHA_MEMO[memo]


def write_atomic(path: Path, data: bytes) -> None:
    """temp file in the same folder, fsync, rename: a reader never sees half an engine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_engine(root: Path, key: EngineKey, plan: bytes, extra: dict[str, Any] | None = None) -> Path:
    """Writes the engine, then its .json record (the record's presence marks a complete engine)."""
    path = key.engine_path(root)
    write_atomic(path, plan)
    record = {**key.fields(), "key": key.digest, **(extra or {})}
    write_atomic(path.with_suffix(".json"), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
    return path


def cached_engine(root: Path, key: EngineKey) -> Path | None:
    """The engine for `key` when both it and its record exist."""
    path = key.engine_path(root)
    return path if path.is_file() and path.with_suffix(".json").is_file() else None


def list_engines(root: Path) -> list[dict[str, Any]]:
    """Records of every complete engine under `root` (for `python -m talkvid_fast.engines list`)."""
    out = []
    for rec in sorted(root.glob("*/trt*/*.json")):
        if rec.with_suffix(".engine").is_file():
            try:
                out.append({**json.loads(rec.read_text()), "path": str(rec.with_suffix(".engine"))})
            except (OSError, ValueError):
                continue
    return out
