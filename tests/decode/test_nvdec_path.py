"""The NVDEC decoder's code path, run on the CPU with a stand-in PyNvVideoCodec that serves FFmpeg's NV12.

Everything but the hardware decode is exercised: NV12 surfaces through DLPack, our nv12_to_rgb kernel (its CPU
twin here), the scan for scene detection, frame access by index, rotation. On a GPU with the real
PyNvVideoCodec, tests/decode/test_nvdec_gpu.py compares the two decoders frame by frame.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import av
import numpy as np
import pytest

from talkvid_fast.decode import PyAVDecoder
from talkvid_fast.segment import SceneCollector, small_size


class _Frame:
    def __init__(self, nv12: np.ndarray, pts: int) -> None:
        self._nv12, self._pts = nv12, pts

    def getPTS(self) -> int:
        return self._pts

    def __dlpack__(self, stream: object = None) -> object:
        return self._nv12.__dlpack__()

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._nv12.__dlpack_device__()


def _fake_pynvvideocodec() -> types.ModuleType:
    mod = types.ModuleType("PyNvVideoCodec")

    class Demuxer:
        def __init__(self, filename: str) -> None:
            self.filename = filename

        def GetNvCodecId(self) -> int:
            return 4

        def __iter__(self):  # one "packet" per decoded frame, in decode order
            with av.open(self.filename) as c:
                for f in c.decode(video=0):
                    yield (f.to_ndarray(format="nv12"), int(f.pts or 0))

    class Decoder:
        def Decode(self, packet):
            return [_Frame(np.ascontiguousarray(packet[0]), packet[1])]

    mod.CreateDemuxer = lambda filename: Demuxer(filename)  # type: ignore[attr-defined]
    mod.CreateDecoder = lambda **kw: Decoder()  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def fake_nvc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", _fake_pynvvideocodec())


def _scenes(dec):
    collector = SceneCollector("histogram", {"threshold": 0.085, "min_scene_len": 15})
    scan = dec.scan(small_size(dec.metadata.coded_width, dec.metadata.coded_height), collector)
    return collector.scenes(), scan


def test_nvdec_path_matches_pyav(fake_nvc: None, testmedia: Path) -> None:
    from talkvid_fast.decode._nvdec import NvdecDecoder

    path = str(testmedia / "multishot" / "pyscenedetect__goldeneye-vfr-drop3.mp4")
    nv = NvdecDecoder(path, device="cpu")
    cpu = PyAVDecoder(path)
    (nv_scenes, nv_scan), (cpu_scenes, scan) = _scenes(nv), _scenes(cpu)
    np.testing.assert_array_equal(nv_scan.pts, scan.pts)  # the same VFR timeline
    assert nv_scenes == cpu_scenes
    wanted = np.array([0, 37, 90, 159])
    got = dict(nv.frames(wanted, scan.pts))
    want = dict(cpu.frames(wanted, scan.pts))
    for i in wanted:
        diff = np.abs(got[i].numpy().astype(int) - want[i].numpy().astype(int))
        # our kernel (float, round-to-nearest) vs FFmpeg's swscale (fixed point): off by a few levels at most
        assert np.median(diff) <= 1 and np.percentile(diff, 99) <= 4, (i, diff.mean())


def test_nvdec_path_applies_rotation(fake_nvc: None, testmedia: Path) -> None:
    from talkvid_fast.decode._nvdec import NvdecDecoder

    path = str(testmedia / "multishot" / "pyscenedetect__issue-134-rotate.mp4")
    nv = NvdecDecoder(path, device="cpu")
    scan = PyAVDecoder(path).scan(None, lambda i, n, im: None)
    ((_, frame),) = list(nv.frames(np.array([5]), scan.pts))
    ((_, ref),) = list(PyAVDecoder(path).frames(np.array([5]), scan.pts))
    assert frame.shape == ref.shape == (1280, 544, 3)
    diff = np.abs(frame.numpy().astype(int) - ref.numpy().astype(int))
    assert np.median(diff) <= 1 and np.percentile(diff, 99) <= 4  # as tests/native's comparison with FFmpeg


def test_open_decoder_falls_back_when_nvdec_is_missing(
    monkeypatch: pytest.MonkeyPatch, testmedia: Path
) -> None:
    from talkvid_fast.decode import open_decoder

    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", None)  # import fails
    dec = open_decoder(str(testmedia / "positives" / "liveportrait__d0.mp4"), "auto", "cuda")
    assert dec.name == "pyav-cpu"
    with pytest.raises(RuntimeError, match="PyNvVideoCodec is not installed"):
        open_decoder(str(testmedia / "positives" / "liveportrait__d0.mp4"), "nvdec", "cuda")


def test_nvdec_timeline_starts_where_the_cpu_timeline_does(fake_nvc: None, testmedia: Path) -> None:
    """dover__1724.mp4's container starts at 33 ms (stream start 990 ticks of 1/30000 s): both decoders must
    give times from the start of the file (Note [Decode passes]), not raw pts seconds."""
    from talkvid_fast.decode._nvdec import NvdecDecoder

    path = str(testmedia / "negatives" / "dover__1724.mp4")
    with av.open(path) as c:  # the expected offset, read independently of the decoders
        start = c.start_time / av.time_base
        first_pts_s = float(next(c.decode(video=0)).time)
    assert start == pytest.approx(0.033)
    nv = NvdecDecoder(path, device="cpu").scan(None, lambda i, n, im: None)
    cpu = PyAVDecoder(path).scan(None, lambda i, n, im: None)
    np.testing.assert_array_equal(nv.pts, cpu.pts)
    np.testing.assert_allclose(nv.times, cpu.times, atol=1e-9)
    assert nv.times[0] == pytest.approx(first_pts_s - start, abs=1e-9)
