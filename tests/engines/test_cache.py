"""The engine cache key (Note [Engine cache]): stable for equal inputs, different when anything that
decides an engine's validity changes; the folder layout and complete-engine records."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from talkvid_fast.engines._cache import (
    EngineKey,
    GpuInfo,
    cached_engine,
    list_engines,
    onnx_sha256,
    save_engine,
    timing_cache_path,
)
from talkvid_fast.engines._specs import BatchRange, find_graph, load_specs

H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))
SHA = "ab" * 32


def _key(**change: object) -> EngineKey:
    graph = find_graph(load_specs(), "dover")
    args: dict[str, object] = {"graph": graph, "gpu": H100, "trt_version": "10.3.0", "onnx_sha256": SHA}
    args |= {"precision": "fp16", "fp32_ops": ("LayerNormalization", "Softmax")} | change
    return EngineKey.make(**args)  # type: ignore[arg-type]


def test_key_is_stable_across_processes() -> None:
    """Another interpreter with other hash seeds (so anything built on hash() or set order differs)."""
    code = "from tests.engines.test_cache import _key; print(_key().digest)"
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {_key().digest}


def test_digest_is_sha256_of_the_recorded_fields(tmp_path: Path) -> None:
    """Note [Engine cache]: 16 lowercase hex digits of sha256 over the canonical JSON of the key's fields,
    recomputed here from the fields the engine record stores, so a record can be checked on its own."""
    key = _key()
    record = json.loads(save_engine(tmp_path, key, b"plan").with_suffix(".json").read_text())
    fields = {k: v for k, v in record.items() if k != "key"}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    assert re.fullmatch(r"[0-9a-f]{16}", key.digest)
    assert key.digest == record["key"] == hashlib.sha256(canonical).hexdigest()[:16]


def test_key_changes_with_every_field() -> None:
    graph = find_graph(load_specs(), "dover")
    wider = graph.with_shapes({})
    first = wider.inputs[0]
    wider = dataclasses.replace(
        wider, inputs=(dataclasses.replace(first, batch=BatchRange(3, 24, 64)), *wider.inputs[1:])
    )
    variants = [
        _key(gpu=GpuInfo("NVIDIA H200", (9, 0))),
        _key(gpu=GpuInfo(H100.name, (8, 9))),
        _key(trt_version="10.4.0"),
        _key(onnx_sha256="cd" * 32),
        _key(precision="bf16"),
        _key(fp32_ops=()),
        _key(graph=wider),  # only one input's max batch differs
        _key(graph=graph.with_shapes({"aes_view": (3, 16, 224, 224)})),
    ]
    digests = {k.digest for k in variants}
    assert len(digests) == len(variants) and _key().digest not in digests


def test_layout_and_records(tmp_path: Path) -> None:
    key = _key()
    assert (
        key.engine_path(tmp_path)
        == tmp_path / "NVIDIA_H100_80GB_HBM3_sm90" / "trt10.3.0" / f"dover-fp16-{key.digest}.engine"
    )
    assert (
        timing_cache_path(tmp_path, H100, "10.3.0")
        == tmp_path / "NVIDIA_H100_80GB_HBM3_sm90/trt10.3.0/timing.cache"
    )
    assert cached_engine(tmp_path, key) is None
    path = save_engine(tmp_path, key, b"plan", {"model": "dover"})
    assert path.read_bytes() == b"plan" and cached_engine(tmp_path, key) == path
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["key"] == key.digest and record["onnx_sha256"] == SHA and record["capability"] == [9, 0]
    assert record["profile"][0] == [
        "tech_view",
        [3, 3, 32, 224, 224],
        [24, 3, 32, 224, 224],
        [48, 3, 32, 224, 224],
    ]
    assert [e["graph"] for e in list_engines(tmp_path)] == ["dover"]
    path.with_suffix(".json").unlink()  # an engine without its record is incomplete: not used, not listed
    assert cached_engine(tmp_path, key) is None and list_engines(tmp_path) == []
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_onnx_hash_follows_the_file(tmp_path: Path) -> None:
    f = tmp_path / "g.onnx"
    f.write_bytes(b"one")
    first = onnx_sha256(f)
    f.write_bytes(b"two!")
    os.utime(f, ns=(1, 1))
    assert onnx_sha256(f) != first
