"""Audio and video of a prepared clip line up: a flash frame and a click, made together, land within one
output frame of each other; the WAV is 16 kHz mono with exactly frames / fps seconds of samples."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from talkvid_fast.head._facemesh_backend import Faces
from talkvid_fast.prepare._layouts import Layout
from talkvid_fast.prepare._source import PrepareParams, SourcePreparer

from ..media import write_video

FPS_IN, FLASH = 25, 37  # the flash: source frames 37-38 (from 1.48 s; 25 -> 24 fps drops one frame a second,
# here frame 37); the click starts at 1.48 s


class OneFace:
    """Stands in for BlazeFace + Face Mesh: one fixed face per frame (faces are not under test here)."""

    def analyze(self, clips: list) -> list[list[Faces]]:
        lm = np.zeros((1, 468, 3))
        lm[0, :, 0], lm[0, :, 1] = np.linspace(40, 80, 468), np.linspace(30, 90, 468)
        face = Faces(np.array([[40.0, 30.0, 80.0, 90.0]]), np.zeros((1, 5, 2)), np.zeros((1, 3)),
                     np.ones(1), np.ones(1), lm)  # fmt: skip
        return [[face] * len(frames) for frames in clips]


def _source(path: Path) -> Path:
    n = 60
    frames = [np.full((96, 128, 3), 60, np.uint8) for _ in range(n)]
    frames[FLASH][:] = frames[FLASH + 1][:] = 250
    audio = np.zeros(int(n / FPS_IN * 16_000), np.int16)
    click = int(FLASH / FPS_IN * 16_000)
    audio[click : click + 160] = 20_000  # 10 ms burst
    return write_video(path, frames, fps=FPS_IN, audio=audio)


def test_flash_and_click_align_within_one_frame(tmp_path: Path) -> None:
    src = _source(tmp_path / "flash.mp4")
    start, end = 0.5, 2.3  # source frames 13 .. 57
    clip = {"clip_id": "flash-scene1", "start": start, "end": end, "start_frame": 13, "end_frame": 58}
    fps = 24.0
    layout = Layout("vexpress", tmp_path / "out")
    params = PrepareParams(format="vexpress", fps=fps, size=64)
    _, records = SourcePreparer(params, layout, OneFace()).source(str(src), None, [clip])
    (rec,) = records
    assert rec["status"] == "ok", rec
    k_count = int((end - start) * fps)
    assert rec["frames"] == k_count

    with av.open(str(layout.root / rec["files"]["video"])) as c:
        decoded = list(c.decode(video=0))
    luma = [f.to_ndarray(format="gray").mean() for f in decoded]
    assert len(luma) == k_count
    assert np.allclose([f.time for f in decoded], np.arange(k_count) / fps, atol=1e-3)  # CFR at 24 fps
    k_flash = int(np.flatnonzero(np.array(luma) > 150)[0])  # first frame of the flash
    with wave.open(str(layout.root / rec["files"]["audio"])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert len(samples) == round(k_count / fps * 16_000)
    j_click = int(np.flatnonzero(np.abs(samples.astype(int)) > 5000)[0])
    assert abs(k_flash / fps - j_click / 16_000) <= 1 / fps
    assert abs(j_click / 16_000 - (FLASH / FPS_IN - start)) <= 0.005  # the audio itself starts at `start`


def test_the_nvdec_path_prepares_the_same_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU decoder's code path (NV12 surfaces, our nv12_to_rgb, device tensors into the warp), run on the
    CPU with the stand-in PyNvVideoCodec of tests/decode: same frames shown, same crops to a few levels."""
    import sys

    from ..decode.test_nvdec_path import _fake_pynvvideocodec

    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", _fake_pynvvideocodec())
    src = _source(tmp_path / "flash.mp4")
    clip = {"clip_id": "flash-scene1", "start": 0.5, "end": 2.3, "start_frame": 13, "end_frame": 58}
    out = {}
    for decoder in ("pyav", "nvdec"):
        layout = Layout("vexpress", tmp_path / decoder)
        params = PrepareParams(format="vexpress", fps=24.0, size=64, decoder=decoder)
        srec, (rec,) = SourcePreparer(params, layout, OneFace()).source(str(src), None, [clip])
        assert srec["decoder"].startswith(decoder) and rec["status"] == "ok"
        with av.open(str(layout.root / rec["files"]["video"])) as c:
            frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(int)
        out[decoder] = (np.load(layout.root / rec["files"]["face_info"])["source_frame"], frames)
    np.testing.assert_array_equal(out["pyav"][0], out["nvdec"][0])
    assert np.abs(out["pyav"][1] - out["nvdec"][1]).max() <= 6


def test_the_smoothed_crop_is_the_bilinear_square_around_the_face(tmp_path: Path) -> None:
    """`--crop smoothed` with a still face: the square of 1.6 x its long side, capped at the frame's short side
    and shifted inside it, resampled bilinearly (full-frame warp, not a slice) and mapped into the face info."""
    import cv2

    yy, xx = np.mgrid[0:96, 0:128]
    texture = np.stack([xx * 2, yy * 2, 120 + 60 * np.sin(xx / 5) * np.cos(yy / 7)], -1).astype(np.uint8)
    src = write_video(tmp_path / "grad.mp4", [texture] * 40, fps=25, audio=np.zeros(16_000 * 2, np.int16))
    clip = {"clip_id": "grad-scene1", "start": 0.2, "end": 1.4, "start_frame": 5, "end_frame": 35}
    layout = Layout("vexpress", tmp_path / "out")
    params = PrepareParams(format="vexpress", fps=24.0, size=64, crop="smoothed")
    _, (rec,) = SourcePreparer(params, layout, OneFace()).source(str(src), None, [clip])
    assert rec["status"] == "ok" and rec["crop_region"] is None
    # OneFace's box (40, 30)-(80, 90): side 1.6 x 60 = 96 = the frame's height; centre x 60 -> window x 12..108
    with av.open(str(src)) as c:
        decoded = next(iter(c.decode(video=0))).to_ndarray(format="rgb24")
    ref = cv2.resize(decoded[0:96, 12:108], (64, 64), interpolation=cv2.INTER_LINEAR).astype(int)
    with av.open(str(layout.root / rec["files"]["video"])) as c:
        out = next(iter(c.decode(video=0))).to_ndarray(format="rgb24").astype(int)
    # red and green carry the gradients; the fine blue texture loses its chroma to 4:2:0 at 64 px
    assert np.abs(out - ref)[..., :2].mean() < 2.5
    shifted = cv2.resize(decoded[0:96, 14:110], (64, 64), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(out - shifted)[..., :2].mean() > 3.0  # a window 2 px off is told apart
    info = np.load(layout.root / rec["files"]["face_info"])
    np.testing.assert_allclose(info["crop_matrix"][0], [[64 / 96, 0, -12 * 64 / 96], [0, 64 / 96, 0]])
    np.testing.assert_allclose(info["bbox"][0], np.array([28, 30, 68, 90]) * 64 / 96, atol=1e-4)
