"""`python -m talkvid_fast.engines build`: ONNX export, then TensorRT engines cached per GPU (Note [Engine cache]).

The export step runs anywhere (CPU included); the TensorRT step needs `tensorrt` and a CUDA GPU, and says
so clearly when either is absent. A model whose weights are missing is reported and skipped; the others
still build. Existing ONNX files are reused unless `force`; an engine whose key is cached is not rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..weights import WeightsMissing
from ._cache import EngineKey, cached_engine, current_gpu, engine_root, onnx_path, onnx_sha256, save_engine
from ._cache import timing_cache_path as timing_path
from ._exporters import export_graph, graphs_for, weights_tag
from ._specs import EngineSpec, GraphSpec, load_specs, select_graphs


class BuildUnavailable(RuntimeError):
    """The TensorRT step cannot run here (no tensorrt, no GPU); the ONNX files were still written."""


@dataclass(frozen=True)
class BuildResult:
    """What happened to one graph."""

    graph: str
    model: str
    precision: str
    onnx: Path | None  #: the exported ONNX file (None when the export failed)
    engine: Path | None = None  #: the engine file (None: export only, or failed)
    status: str = "exported"  #: exported | built | cached | failed
    message: str = ""
    seconds: float = 0.0


def build(
    models: str | list[str] | None = None,
    precision: str | None = None,
    out: str | Path | None = None,
    weights: str = "official",
    export_only: bool = False,
    force: bool = False,
    specs: dict[str, EngineSpec] | None = None,
    device: str | int = 0,
    log: Callable[[str], None] = print,
) -> list[BuildResult]:
    """Exports every selected graph to ONNX, then (unless `export_only`) builds its TensorRT engine.

    Raises SpecError for an unknown model or a precision the spec does not allow (before any work), and
    BuildUnavailable after the exports when TensorRT or a GPU is missing."""
    specs = specs if specs is not None else load_specs()
    plans = [(s, gs, s.check_precision(precision)) for s, gs in select_graphs(specs, models)]
    root = engine_root(out)
    exported: list[tuple[EngineSpec, GraphSpec, BuildResult, str]] = []
    results: list[BuildResult] = []
    for spec, chosen, prec in plans:
        for graph in graphs_for(spec, weights, {g.name for g in chosen}):
            tag = weights_tag(spec, graph, weights)
            path = onnx_path(root, graph.name, tag)
            t0 = time.perf_counter()
            try:
                if force or not path.is_file():
                    log(f"export {graph.name} ({tag}) -> {path}")
                    export_graph(spec, graph, path, weights)
                else:
                    log(f"export {graph.name}: reusing {path}")
            except WeightsMissing as exc:
                results.append(
                    BuildResult(graph.name, spec.name, prec, None, status="failed", message=str(exc))
                )
                log(f"export {graph.name}: {exc}")
                continue
            res = BuildResult(graph.name, spec.name, prec, path, seconds=time.perf_counter() - t0)
            exported.append((spec, graph, res, tag))
            results.append(res)
    if export_only:
        return results
    from ._tensorrt import TensorRTUnavailable, build_engine, require_tensorrt

    try:
        trt_version = str(require_tensorrt().__version__)
    except TensorRTUnavailable as exc:
        raise BuildUnavailable(f"ONNX files written under {root / 'onnx'}; engines not built. {exc}") from exc
    gpu = current_gpu(device)
    if gpu is None:
        raise BuildUnavailable(
            f"ONNX files written under {root / 'onnx'}; TensorRT engines need a CUDA GPU and torch sees none"
        )
    timing = timing_path(root, gpu, trt_version)
    for spec, graph, res, tag in exported:
        prec = res.precision
        assert res.onnx is not None
        key = EngineKey.make(graph, gpu, trt_version, onnx_sha256(res.onnx), prec, spec.fp32_ops)
        i = results.index(res)
        if (hit := cached_engine(root, key)) is not None and not force:
            log(f"engine {graph.name} {prec}: cached {hit}")
            results[i] = BuildResult(res.graph, res.model, prec, res.onnx, hit, "cached")
            continue
        t0 = time.perf_counter()
        log(f"engine {graph.name} {prec} for {gpu.name} (TensorRT {trt_version}) ...")
        profile = [(i_.name, *i_.profile()) for i_ in graph.inputs]
        plan = build_engine(res.onnx, profile, prec, timing, spec.fp32_ops)
        extra = {"model": spec.name, "weights_tag": tag, "onnx": str(res.onnx), "built": time.time()}
        path = save_engine(root, key, plan, extra)
        results[i] = BuildResult(
            res.graph, res.model, prec, res.onnx, path, "built", "", time.perf_counter() - t0
        )
        log(f"engine {graph.name} {prec}: {path} ({len(plan) / 1e6:.1f} MB, {results[i].seconds:.0f} s)")
    return results
