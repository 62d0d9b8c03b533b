"""Note [Export pool]: frames staged through a bounded set of host buffers, encoded in pool threads while the
caller decodes the next clip; the encoder choice; bad parameters."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from talkvid_fast.export import EncodePool, ExportParams, _encode, select_encoder


def _frames(
    n: int, seed: int, log: list[str] | None = None, tag: str = ""
) -> Iterator[tuple[int, torch.Tensor]]:
    rng = np.random.default_rng(seed)
    for i in range(n):
        if log is not None:
            log.append(f"decode {tag}{i}")
        yield i, torch.from_numpy(rng.integers(0, 256, (6, 9, 3), dtype=np.uint8))


def test_frames_reach_the_writer_in_order_through_bounded_buffers() -> None:
    pool = EncodePool(workers=1, buffers=2, chunk=4)
    got: list[tuple[int, np.ndarray]] = []
    buffers: set[int] = set()

    def open_writer():
        def write(rgb: np.ndarray, n: int) -> None:
            got.append((n, rgb.copy()))
            buffers.add(rgb.__array_interface__["data"][0] - n % 4 * rgb.nbytes)  # the chunk's base address

        return write, lambda: len(got)

    future = pool.encode(_frames(10, 0), (6, 8), False, open_writer)  # crop the odd width, as x264 needs
    assert future.result(timeout=30) == 10
    want = [f.numpy()[:6, :8] for _, f in _frames(10, 0)]
    assert [n for n, _ in got] == list(range(10))
    assert all(np.array_equal(g, w) for (_, g), w in zip(got, want, strict=True))
    assert len(buffers) <= 2  # 10 frames went through the same 2 buffers of 4
    pool.close()


def test_encoding_runs_while_the_next_clip_decodes() -> None:
    """No timing: clip a's writer waits until clip b's frames are being decoded. With export in the
    caller's thread (the old code) b is decoded only after a is encoded, and the wait would time out."""
    pool = EncodePool(workers=2, buffers=4, chunk=2)
    log: list[str] = []
    b_decoding = threading.Event()

    def writer(tag: str):
        def open_writer():
            def write(rgb: np.ndarray, n: int) -> None:
                if tag == "a" and n == 3:
                    log.append("encode a3 waits")
                    assert b_decoding.wait(timeout=5), "clip b was not decoded while clip a encoded"
                log.append(f"encode {tag}{n}")

            return write, lambda: tag

        return open_writer

    def frames_b() -> Iterator[tuple[int, torch.Tensor]]:
        for i, f in _frames(4, 1, log, "b"):
            b_decoding.set()
            yield i, f

    fa = pool.encode(_frames(4, 0, log, "a"), (6, 8), False, writer("a"))
    fb = pool.encode(frames_b(), (6, 8), False, writer("b"))
    assert (fa.result(timeout=30), fb.result(timeout=30)) == ("a", "b")
    assert log.index("decode b0") < log.index("encode a3")  # b decoded while a was still encoding
    pool.close()


def test_a_failing_writer_fails_its_clip_without_blocking_the_caller() -> None:
    pool = EncodePool(workers=1, buffers=2, chunk=1)

    def open_writer():
        def write(rgb: np.ndarray, n: int) -> None:
            if n == 2:
                raise OSError("disk full")

        return write, lambda: "closed"

    future = pool.encode(_frames(8, 0), (6, 8), False, open_writer)  # 8 chunks through 2 buffers
    with pytest.raises(OSError, match="disk full"):
        future.result(timeout=30)
    pool.close()


def test_encoder_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert select_encoder("auto", cpu) == select_encoder("x264", gpu) == "x264"
    with pytest.raises(ValueError, match="allowed: auto, x264, nvenc"):
        select_encoder("vp9", cpu)
    fake = types.ModuleType("PyNvVideoCodec")

    def no_nvenc(*a: object, **k: object) -> None:
        raise RuntimeError("NV_ENC_ERR_UNSUPPORTED_DEVICE")  # what an H100 answers

    fake.CreateEncoder = no_nvenc  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", fake)
    monkeypatch.setattr(_encode, "_nvenc_ok", {})
    assert select_encoder("auto", gpu) == "x264"
    with pytest.raises(ValueError, match=r"no usable NVENC.*allowed here: auto, x264"):
        select_encoder("nvenc", gpu)
    fake.CreateEncoder = lambda *a, **k: object()  # type: ignore[attr-defined]
    monkeypatch.setattr(_encode, "_nvenc_ok", {})
    assert select_encoder("auto", gpu) == select_encoder("nvenc", gpu) == "nvenc"


def test_bad_export_params() -> None:
    with pytest.raises(ValueError, match="allowed: media, spans"):
        ExportParams(mode="files")
    with pytest.raises(ValueError, match="allowed: auto, x264, nvenc"):
        ExportParams(encoder="nvjpeg")
    with pytest.raises(ValueError, match="encode_workers must be >= 1"):
        ExportParams(encode_workers=0)
    with pytest.raises(ValueError, match="buffers >= 2"):
        EncodePool(buffers=1)
