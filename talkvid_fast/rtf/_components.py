"""Per-component rates on whatever device runs them (Note [Throughput model]'s inputs).

Each `measure_*` times one component alone, after a warm-up call, synchronising a CUDA device before the
clock is read, and returns a `Rate` (or one with `not_run` saying why it could not run). Inputs are
synthetic tensors of the real shapes (1080p NV12 surfaces, DOVER's views, CoTracker windows, face crops)
except for decode and encode, which use a real H.264 file. Model weights are random (the compute is the
real model's); facemesh needs its weight files in the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class Rate:
    name: str
    unit: str  #: what `per_second` counts: frames, clips, windows
    per_second: float = 0.0
    items: int = 0
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    not_run: str | None = None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(name: str, unit: str, device: torch.device, step: Callable[[], int], min_seconds: float) -> Rate:
    """Runs step() (returns items done) once to warm up, then until min_seconds have passed."""
    step()
    _sync(device)
    items, start = 0, time.perf_counter()
    while True:
        items += step()
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return Rate(name, unit, items / elapsed, items, elapsed)


def measure_scan_histogram(device: torch.device, min_seconds: float = 1.0) -> Rate:
    """Stage 1's feature kernel on 1080p NV12 (274x154 small frame), 64 frames per step into one buffer."""
    from ..native import native

    y = torch.randint(0, 256, (1080, 1920), dtype=torch.uint8, device=device)
    uv = torch.randint(0, 256, (540, 960, 2), dtype=torch.uint8, device=device)
    counts = torch.empty((64, 256), dtype=torch.int32, device=device)
    stream = torch.cuda.current_stream(device).cuda_stream if device.type == "cuda" else 0

    def step() -> int:
        for i in range(64):
            native().nv12_scan_histogram(y, uv, counts, i, 154, 274, 709, False, stream)
        return 64

    return _timed("scan_histogram_1080p", "frames", device, step, min_seconds)


def measure_nv12_to_rgb(device: torch.device, size: tuple[int, int], min_seconds: float = 1.0) -> Rate:
    """The view kernel: 1080p NV12 -> RGB at `size` (224x224 DOVER, 512 px CoTracker, 1080p export)."""
    from ..native import yuv420_to_rgb

    y = torch.randint(0, 256, (1080, 1920), dtype=torch.uint8, device=device)
    uv = torch.randint(0, 256, (540, 960, 2), dtype=torch.uint8, device=device)

    def step() -> int:
        for _ in range(16):
            yuv420_to_rgb(y, uv=uv, size=size)
        return 16

    return _timed(f"nv12_to_rgb_1080p_to_{size[0]}x{size[1]}", "frames", device, step, min_seconds)


def _precision_dtype(precision: str) -> torch.dtype:
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def measure_dover(device: torch.device, batch: int, precision: str, min_seconds: float = 2.0) -> Rate:
    """DOVER (full architecture, random weights) at `batch` clips per call: 3 technical + 1 aesthetic
    32x224x224 views per clip."""
    from ..quality.model import build_dover

    model = build_dover(None).to(device).eval()
    tech = torch.randn(3 * batch, 3, 32, 224, 224, device=device)
    aes = torch.randn(batch, 3, 32, 224, 224, device=device)
    return _model_rate(
        f"dover_{precision}", "clips", device, precision, batch, lambda: model(tech, aes), min_seconds
    )


def measure_cotracker(device: torch.device, batch: int, precision: str, min_seconds: float = 2.0) -> Rate:
    """CoTracker3 online (random weights) on `batch` paper windows of 16 frames at 384x512, 256 queries."""
    from ..motion.cotracker import build

    model = build("online").to(device).eval()
    video = torch.rand(batch, 16, 3, 384, 512, device=device) * 255
    queries = torch.cat([torch.zeros(batch, 256, 1), torch.rand(batch, 256, 2) * 300], 2).to(device)
    return _model_rate(
        f"cotracker3_online_{precision}",
        "windows",
        device,
        precision,
        batch,
        lambda: model(video, queries),
        min_seconds,
    )


def measure_facemesh(device: torch.device, batch: int, precision: str, min_seconds: float = 1.0) -> Rate:
    """BlazeFace (full range) + Face Mesh at `batch` frames/crops per call (weights from the cache)."""
    try:
        from ..head._facemesh_backend import FaceMeshBackend

        backend = FaceMeshBackend(device, precision=precision, runtime="torch")
    except Exception as exc:  # weights missing: say so, run the rest
        return Rate(f"facemesh_{precision}", "frames", not_run=f"{type(exc).__name__}: {exc}")
    size = backend.detector.cfg.input_size
    det_in = torch.rand(batch, size, size, 3, device=device) * 2 - 1  # channels last, as the warp writes
    mesh_in = torch.rand(batch, 192, 192, 3, device=device)
    return _model_rate(
        f"facemesh_{precision}",
        "frames",
        device,
        "fp32",  # the engines apply the precision themselves
        batch,
        lambda: (backend.detector_engine(det_in), backend.mesh_engine(mesh_in)),
        min_seconds,
    )


def _model_rate(
    name: str,
    unit: str,
    device: torch.device,
    precision: str,
    batch: int,
    call: Callable[[], Any],
    min_seconds: float,
) -> Rate:
    if device.type == "cpu" and precision != "fp32":
        return Rate(name, unit, not_run="reduced precision needs CUDA")
    dtype = _precision_dtype(precision)

    def step() -> int:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            call()
        return batch

    rate = _timed(name, unit, device, step, min_seconds)
    rate.settings = {"batch": batch, "precision": precision}
    return rate


def measure_decode(path: Path, streams: int, device: torch.device, min_seconds: float = 0.0) -> Rate:
    """Frames/s of `streams` concurrent full decodes of `path` (threads; NVDEC on CUDA through
    PyNvVideoCodec, each stream on its own CUDA stream; PyAV otherwise)."""
    from ..decode import open_decoder
    from ..segment import small_size

    kind = "nvdec" if device.type == "cuda" else "pyav"
    try:
        open_decoder(str(path), kind, str(device)).close()
    except Exception as exc:
        return Rate(f"decode_{kind}_x{streams}", "frames", not_run=f"{type(exc).__name__}: {exc}")
    counts = [0] * streams
    errors: list[BaseException] = []

    def one(k: int) -> None:
        try:
            ctx = torch.cuda.stream(torch.cuda.Stream(device)) if device.type == "cuda" else _Null()
            with ctx:
                dec = open_decoder(str(path), kind, str(device))
                counts[k] = len(
                    dec.scan(
                        small_size(dec.metadata.coded_width, dec.metadata.coded_height), lambda i, n, im: None
                    ).pts
                )
                dec.close()
        except BaseException as exc:
            errors.append(exc)

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _sync(device)
    elapsed = time.perf_counter() - start
    if errors:
        return Rate(f"decode_{kind}_x{streams}", "frames", not_run=f"{type(errors[0]).__name__}: {errors[0]}")
    return Rate(
        f"decode_{kind}_x{streams}",
        "frames",
        sum(counts) / elapsed,
        sum(counts),
        elapsed,
        {"streams": streams},
    )


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def measure_x264(path: Path, frames: int = 120, preset: str = "medium") -> Rate:
    """x264 frames/s of one encoder (PyAV, its own threads) on the first `frames` frames of `path`."""
    import av
    import numpy as np

    with av.open(str(path)) as src:
        images = [
            f.to_ndarray(format="rgb24") for _, f in zip(range(frames), src.decode(video=0), strict=False)
        ]
    h, w = images[0].shape[:2]
    start = time.perf_counter()
    with av.open("/dev/null", "w", format="mp4") as out:
        stream: Any = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        stream.options = {"crf": "18", "preset": preset}
        for img in images:
            even: Any = np.ascontiguousarray(img[: h - h % 2, : w - w % 2])
            for p in stream.encode(av.VideoFrame.from_ndarray(even, format="rgb24")):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    elapsed = time.perf_counter() - start
    return Rate("x264_" + preset, "frames", len(images) / elapsed, len(images), elapsed, {"size": [w, h]})
