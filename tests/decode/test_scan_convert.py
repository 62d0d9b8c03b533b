"""Note [Scan conversion]: every scan mode but `swscale` hands the detector the reference pixels, bit for bit.

The reference is written out here, independently of the decoder: PyAV `to_ndarray(format="bgr24")` of the
whole frame, then cv2.resize INTER_LINEAR to scenedetect's small size (Note [Scene parity]).
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from talkvid_fast.decode import PyAVDecoder
from talkvid_fast.decode._scan_convert import ScanConverter, linear_rows
from talkvid_fast.segment import small_size
from tests.media import scene_frames, write_video

# multishot (1280 px: the rows path), 1080p and 720p sources, a full-frame one (480 px) and a 2x one (512 px)
MEDIA = [
    "multishot/pyscenedetect__testvideo.mp4",
    "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4",
    "multishot/pyscenedetect__issue-134-rotate.mp4",
    "negatives/pyscenedetect__counter.mp4",
    "positives/liveportrait__s32.mp4",
    "positives/liveportrait__d19.mp4",
    "positives/liveportrait__d0.mp4",
]


def _small(w: int, h: int) -> tuple[int, int] | None:
    sw = small_size(w, h)[0]
    return (sw, round(h * sw / w)) if sw < w else None


def reference(frame: av.VideoFrame, small: tuple[int, int] | None) -> np.ndarray:
    bgr = frame.to_ndarray(format="bgr24")
    return bgr if small is None else cv2.resize(bgr, small, interpolation=cv2.INTER_LINEAR)


def _compare(path: Path, modes: tuple[str, ...] = ("auto", "full")) -> dict[str, str]:
    """Decodes `path` once and checks every frame of every mode against the reference; returns the modes used."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        small = _small(w, h)
        converters = {m: ScanConverter(w, h, small, mode=m) for m in modes}
        n = 0
        for frame in container.decode(stream):
            ref = reference(frame, small)
            for m, conv in converters.items():
                got = conv(frame)
                assert got.shape == ref.shape and got.dtype == np.uint8
                assert np.array_equal(got, ref), f"{path.name} frame {n}: mode {m} differs"
            n += 1
    assert n > 0
    return {m: c.mode for m, c in converters.items()}


@pytest.mark.parametrize("name", MEDIA)
def test_scan_frames_equal_reference_on_real_media(testmedia: Path, name: str) -> None:
    used = _compare(testmedia / name)
    width = int(av.open(str(testmedia / name)).streams.video[0].codec_context.width)
    # 1280/1920 px sources take the rows path; 480 (no resize) and 512 (cv2's 2x area path) stay on full
    assert used["auto"] == ("rows" if width >= 1280 else "full")


def test_scan_through_decoder_equals_reference(testmedia: Path) -> None:
    path = testmedia / "multishot" / "pyscenedetect__testvideo.mp4"
    got: list[np.ndarray] = []
    with PyAVDecoder(str(path)) as dec:
        dec.scan(small_size(1280, 720)[0], lambda i, n, im: got.append(im.copy()))
        assert dec.last_scan_mode == "rows"
    with av.open(str(path)) as container:
        refs = [reference(f, (256, 144)) for f in container.decode(video=0)]
    assert len(got) == len(refs) == 720
    assert all(np.array_equal(a, b) for a, b in zip(got, refs, strict=True))


def _odd_video(tmp_path: Path, w: int, h: int) -> Path:
    """A lossless 4:2:0 video of odd size (H.264 needs even sizes; FFV1 does not)."""
    rng = np.random.default_rng(w + h)
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(4)]
    return write_video(tmp_path / f"odd_{w}x{h}.mkv", frames, codec="ffv1")


@pytest.mark.parametrize(("w", "h", "mode"), [(1283, 722, "rows"), (1283, 721, "full"), (1921, 1081, "full")])
def test_odd_size_video_equals_reference(tmp_path: Path, w: int, h: int, mode: str) -> None:
    """Odd width keeps swscale's per-pixel path (rows); odd height takes its filtering path, so `auto` must
    fall back to full there: forcing rows on it gives different pixels, which is what the check is for."""
    path = _odd_video(tmp_path, w, h)
    assert _compare(path)["auto"] == mode
    if mode == "full":
        with av.open(str(path)) as container:
            frame = next(iter(container.decode(video=0)))
            small = _small(w, h)
            assert not np.array_equal(ScanConverter(w, h, small, mode="rows")(frame), reference(frame, small))


def test_synthetic_444_video_equals_reference(tmp_path: Path) -> None:
    path = write_video(tmp_path / "odd444.mp4", scene_frames([6], size=(301, 771)))  # odd: 4:4:4 H.264
    assert _compare(path)["auto"] == "full"


def test_rows_are_what_cv2_reads() -> None:
    """Any change outside linear_rows' rows leaves cv2.resize's output unchanged; inside, it changes it."""
    rng = np.random.default_rng(1)
    for h, w in [(1080, 1920), (2160, 3840), (544, 1280), (722, 1283)]:
        small = _small(w, h)
        assert small is not None
        rows = linear_rows(h, small[1])
        a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        b = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        b[rows] = a[rows]
        ref = cv2.resize(a, small, interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(cv2.resize(b, small, interpolation=cv2.INTER_LINEAR), ref)
        b[rows[len(rows) // 2]] = 255 - a[rows[len(rows) // 2]]
        assert not np.array_equal(cv2.resize(b, small, interpolation=cv2.INTER_LINEAR), ref)


def test_unknown_mode_lists_allowed(testmedia: Path) -> None:
    with pytest.raises(ValueError, match="allowed: auto, full, rows"):
        PyAVDecoder(str(testmedia / "positives" / "liveportrait__d0.mp4"), scan_mode="magic")
