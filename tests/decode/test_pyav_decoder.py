"""The CPU decoder: exact timestamps (CFR and VFR), rotation, seek-based frame access, decode errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkvid_fast.decode import DecodeError, PyAVDecoder, probe
from tests.conftest import decode_rgb
from tests.media import scene_frames, write_video


def _scan(dec: PyAVDecoder):
    return dec.scan(None, lambda i, n, im: None)


def test_vfr_timestamps_are_exact(tmp_path: Path) -> None:
    times = [0.0, 0.04, 0.12, 0.16, 0.30, 0.34, 0.38, 0.50]
    path = write_video(tmp_path / "vfr.mp4", scene_frames([len(times)]), fps=25, times=times)
    with PyAVDecoder(str(path)) as dec:
        scan = _scan(dec)
    np.testing.assert_allclose(scan.times - scan.times[0], times, atol=1e-6)


def test_real_vfr_source_keeps_its_gaps(testmedia: Path) -> None:
    with PyAVDecoder(str(testmedia / "multishot" / "pyscenedetect__goldeneye-vfr-drop3.mp4")) as dec:
        scan = _scan(dec)
    gaps = np.diff(scan.times)
    assert len(scan.times) == 160
    # every third frame dropped from 23.976 fps: gaps of one and two frame periods
    assert np.isclose(gaps.min(), 1001 / 24000, atol=1e-4) and np.isclose(
        gaps.max(), 2 * 1001 / 24000, atol=1e-4
    )


def test_rotation_is_applied_for_display(testmedia: Path) -> None:
    path = testmedia / "multishot" / "pyscenedetect__issue-134-rotate.mp4"
    meta = probe(str(path))
    assert (meta.coded_width, meta.coded_height, meta.rotation) == (1280, 544, 270)
    assert (meta.width, meta.height) == (544, 1280)
    coded = decode_rgb(path, max_frames=1)[0]
    with PyAVDecoder(str(path)) as dec:
        scan = _scan(dec)
        ((_, frame),) = list(dec.frames(np.array([0]), scan.pts))
    assert tuple(frame.shape) == (1280, 544, 3)
    # 270 degrees counter-clockwise = 90 clockwise, as FFmpeg's autorotate shows it
    np.testing.assert_array_equal(frame.numpy(), np.rot90(coded, k=3))


def test_seeking_access_equals_linear_decode(testmedia: Path) -> None:
    path = testmedia / "positives" / "liveportrait__d6.mp4"  # 1008 frames: seeks over long gaps
    reference = decode_rgb(path)
    wanted = np.array([0, 1, 2, 299, 300, 650, 1007])
    with PyAVDecoder(str(path)) as dec:
        scan = _scan(dec)
        got = dict(dec.frames(wanted, scan.pts))
    assert sorted(got) == wanted.tolist()
    for i in wanted:
        np.testing.assert_array_equal(got[i].numpy(), reference[i])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty_file"),
        (lambda p: p.write_text("this is not a video\n" * 20), "not_a_video"),
        (lambda p: None, "missing_file"),
    ],
)
def test_broken_files_raise_decode_error_with_reason(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "broken.mp4"
    make(path)
    with pytest.raises(DecodeError) as info:
        PyAVDecoder(str(path))
    assert info.value.reason == reason


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        for pkt in [*s.encode(frame), *s.encode(None)]:
            out.mux(pkt)
    with pytest.raises(DecodeError) as info:
        PyAVDecoder(str(path))
    assert info.value.reason == "no_video_stream"


def test_truncated_file_keeps_what_decodes_or_fails_cleanly(tmp_path: Path, testmedia: Path) -> None:
    data = (testmedia / "positives" / "sadtalker__WDA_KatieHill_000.mp4").read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 3])
    try:
        with PyAVDecoder(str(path)) as dec:
            scan = _scan(dec)
    except DecodeError as exc:
        assert exc.reason in DecodeError.REASONS
    else:
        assert 0 < len(scan.times) < 200  # only the frames that are there
