"""Note [Scan conversion] and Note [Scene parity]: the scan hands the detector scenedetect's own frames.

The oracle is scenedetect 0.6.4 itself: its `SceneManager` (auto downscale) over its PyAV backend, with a
detector that records every frame it is given. Size and pixels both come from there, never from our code.
On many sources scenedetect's PyAV backend never hands over the last frame (its `read` makes a new decode
generator per frame and can lose the decoder's final flushed frame; the OpenCV backend, the official
pipeline's default, gives all N): we give the detector all N, and compare the N or N - 1 it gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from scenedetect import SceneManager, open_video
from scenedetect.scene_detector import SceneDetector

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


class _Recorder(SceneDetector):
    """A scenedetect detector that hands each frame it is given to `check` and never cuts."""

    def __init__(self, check: Any) -> None:
        super().__init__()
        self.check = check
        self.count = 0

    def process_frame(self, frame_num: int, frame_img: np.ndarray) -> list[int]:
        self.check(self.count, frame_img)
        self.count += 1
        return []


def scenedetect_frames(path: Path, check: Any) -> int:
    """Runs scenedetect's own pipeline on `path`; `check(k, frame)` sees its k-th frame; returns how many
    frames it saw (the last one may be missing: see the module docstring)."""
    recorder = _Recorder(check)
    manager = SceneManager()  # auto_downscale=True, INTER_LINEAR: what stage 1 follows
    manager.add_detector(recorder)
    manager.detect_scenes(open_video(str(path), backend="pyav"))
    return recorder.count


def _ours(path: Path, modes: tuple[str, ...]) -> tuple[list[np.ndarray], dict[str, str]]:
    """Our conversion of every frame at the size stage 1 asks for; every mode must give the same bytes.
    Returns the frames and the mode each converter settled on."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        small = small_size(w, h)
        converters = {m: ScanConverter(w, h, None if small == (w, h) else small, mode=m) for m in modes}
        for frame in container.decode(stream):
            first, *rest = (c(frame) for c in converters.values())
            for m, other in zip(modes[1:], rest, strict=True):
                assert np.array_equal(first, other), f"{path.name} frame {len(frames)}: {modes[0]} != {m}"
            frames.append(first)
    return frames, {m: c.mode for m, c in converters.items()}


def _compare(path: Path, modes: tuple[str, ...] = ("auto", "full")) -> dict[str, str]:
    """Every frame of every mode equals scenedetect's frame, shape and bytes; returns the modes used."""
    ours, used = _ours(path, modes)

    def check(k: int, frame: np.ndarray) -> None:
        got = ours[k]
        assert got.shape == frame.shape, (
            f"{path.name}: our scan size {got.shape}, scenedetect's {frame.shape}"
        )
        assert np.array_equal(got, frame), f"{path.name} frame {k} differs from scenedetect's"

    assert len(ours) - 1 <= scenedetect_frames(path, check) <= len(ours) and ours
    return used


@pytest.mark.parametrize("name", MEDIA)
def test_scan_frames_equal_scenedetects_on_real_media(testmedia: Path, name: str) -> None:
    used = _compare(testmedia / name)
    width = int(av.open(str(testmedia / name)).streams.video[0].codec_context.width)
    # 1280/1920 px sources take the rows path; 480 (no resize) and 512 (cv2's 2x area path) stay on full
    assert used["auto"] == ("rows" if width >= 1280 else "full")


def _video(tmp_path: Path, w: int, h: int, n: int = 3) -> Path:
    """Random frames; lossless FFV1 4:2:0 for odd sizes (H.264 needs even ones), H.264 otherwise."""
    rng = np.random.default_rng(w + h)
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    if w % 2 or h % 2:
        return write_video(tmp_path / f"v_{w}x{h}.mkv", frames, codec="ffv1")
    return write_video(tmp_path / f"v_{w}x{h}.mp4", frames)


# Sizes where h * (w / f) / w rounds differently from h / f (the decoders' old formula): 1366x768 gives 153 rows
# that way, scenedetect 154; 1283x722 gives 145, scenedetect 144. The rows counts below are scenedetect's.
@pytest.mark.parametrize(("w", "h", "rows"), [(1366, 768, 154), (1283, 722, 144), (1920, 1080, 154)])
def test_decoder_scan_size_is_scenedetects(tmp_path: Path, w: int, h: int, rows: int) -> None:
    path = _video(tmp_path, w, h)
    got: list[np.ndarray] = []
    with PyAVDecoder(str(path)) as dec:
        dec.scan(small_size(w, h), lambda i, n, im: got.append(im.copy()))

    def check(k: int, frame: np.ndarray) -> None:
        assert frame.shape[0] == rows  # what scenedetect 0.6.4 really gives
        assert got[k].shape == frame.shape and np.array_equal(got[k], frame)

    assert len(got) == 3 and scenedetect_frames(path, check) in (2, 3)


def test_scan_through_decoder_equals_scenedetects(testmedia: Path) -> None:
    path = testmedia / "multishot" / "pyscenedetect__testvideo.mp4"
    got: list[np.ndarray] = []
    with PyAVDecoder(str(path)) as dec:
        dec.scan(small_size(1280, 720), lambda i, n, im: got.append(im.copy()))
        assert dec.last_scan_mode == "rows"

    def check(k: int, frame: np.ndarray) -> None:
        assert np.array_equal(got[k], frame), f"frame {k}"

    assert len(got) == 720 and scenedetect_frames(path, check) in (719, 720)


@pytest.mark.parametrize(("w", "h", "mode"), [(1283, 722, "rows"), (1283, 721, "full"), (1921, 1081, "full")])
def test_odd_size_video_equals_scenedetects(tmp_path: Path, w: int, h: int, mode: str) -> None:
    """Odd width keeps swscale's per-pixel path (rows); odd height takes its filtering path, so `auto` must
    fall back to full there: forcing rows on it gives different pixels, which is what the check is for."""
    path = _video(tmp_path, w, h, n=4)
    assert _compare(path)["auto"] == mode
    if mode == "full":
        with av.open(str(path)) as container:
            frame = next(iter(container.decode(video=0)))
            small = small_size(w, h)
            full = ScanConverter(w, h, small, mode="full")(frame)
            assert not np.array_equal(ScanConverter(w, h, small, mode="rows")(frame), full)


def test_synthetic_444_video_equals_scenedetects(tmp_path: Path) -> None:
    path = write_video(tmp_path / "odd444.mp4", scene_frames([6], size=(301, 771)))  # odd: 4:4:4 H.264
    assert _compare(path)["auto"] == "full"


def test_rows_are_what_cv2_reads() -> None:
    """Any change outside linear_rows' rows leaves cv2.resize's output unchanged; inside, it changes it."""
    rng = np.random.default_rng(1)
    for h, w in [(1080, 1920), (2160, 3840), (544, 1280), (722, 1283)]:
        small = small_size(w, h)
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


@pytest.mark.parametrize("bad", [256, (256,), (0, 144), (256, 10_000), (256.0, 144)])
def test_bad_scan_size_fails_fast(testmedia: Path, bad: object) -> None:
    with (
        PyAVDecoder(str(testmedia / "positives" / "liveportrait__d0.mp4")) as dec,
        pytest.raises(ValueError, match="scan size must be None or"),
    ):
        dec.scan(bad, lambda i, n, im: None)  # type: ignore[arg-type]
