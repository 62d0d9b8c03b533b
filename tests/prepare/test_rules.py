"""Frame selection against FFmpeg's own fps filter; the crop rules against references written from the spec."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from talkvid_fast.prepare._rules import (
    CropRegion,
    output_frame_count,
    select_frames,
    smoothed_regions,
    talkvid_region,
)
from talkvid_fast.prepare._source import _warp_chunk

from ..conftest import decode_rgb


def _digest(frame: av.VideoFrame) -> str:
    return hashlib.md5(np.ascontiguousarray(frame.to_ndarray(format="gray")).tobytes()).hexdigest()


def _ffmpeg_fps(path: Path, fps: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Source frame times and digests, and the digests of FFmpeg's `fps` filter output (what -r does)."""
    times, src, out = [], [], []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        graph = av.filter.Graph()
        buf = graph.add_buffer(template=s)
        flt = graph.add("fps", str(fps))
        sink = graph.add("buffersink")
        buf.link_to(flt)
        flt.link_to(sink)
        graph.configure()

        def drain() -> None:
            while True:
                try:
                    out.append(_digest(graph.pull()))  # type: ignore[arg-type]
                except (av.error.BlockingIOError, av.error.EOFError):
                    return

        for frame in c.decode(s):
            times.append(float(frame.pts * s.time_base))  # type: ignore[operator]
            src.append(_digest(frame))
            graph.push(frame)
            drain()
        graph.push(None)
        drain()
    return np.array(times), src, out


@pytest.mark.parametrize(
    "name", ["positives/retalking__face1.mp4", "multishot/pyscenedetect__goldeneye-vfr-drop3.mp4"]
)
def test_selection_matches_ffmpeg_fps_filter(testmedia: Path, name: str) -> None:
    """Both sources are VFR (face1: 2-frame gaps; goldeneye: every third frame dropped)."""
    times, src, ffmpeg = _ffmpeg_fps(testmedia / name, 24)
    # FFmpeg's output grid counts from time 0 (a cut clip's start) and begins at the first frame's tick
    end = times[-1] + np.median(np.diff(times))
    first = int(np.floor(times[0] * 24 + 0.5))
    ours = select_frames(times, 0.0, output_frame_count(0.0, end, 24), 24)[first:]
    n = min(len(ours), len(ffmpeg))
    assert n >= len(ffmpeg) - 1 and n > 100
    assert [src[i] for i in ours[:n]] == ffmpeg[:n]


def _talkvid_reference(boxes: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """TalkVid face_crop.py as its readme/official-pipeline.md describe it, on an index image: the slice
    frame[top:top + 2w, left:left + 2w] of the union box's centre and 1.6 x its long side."""
    x1, y1 = boxes[:, 0].min(), boxes[:, 1].min()
    x2, y2 = boxes[:, 2].max(), boxes[:, 3].max()
    centre = [int((x1 + x2) / 2), int((y1 + y2) / 2)]
    box_size = int(max(x2 - x1, y2 - y1) * 1.6)
    w = int(box_size / 2)
    left, top = max(int(centre[0] - w), 0), max(int(centre[1] - w), 0)
    ys, xs = np.mgrid[0:height, 0:width]
    cut_x = xs[top : top + 2 * w, left : left + 2 * w]
    cut_y = ys[top : top + 2 * w, left : left + 2 * w]
    return int(cut_x.min()), int(cut_y.min()), cut_x.shape[1], cut_x.shape[0]


def test_talkvid_region_matches_reference() -> None:
    rng = np.random.default_rng(0)
    for width, height in ((512, 512), (1280, 720), (720, 1280)):
        for _ in range(40):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            size = rng.uniform(20, 0.6 * min(width, height))
            jitter = rng.normal(0, size * 0.05, (12, 4))
            boxes = np.array([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]) + jitter
            boxes[3] = np.nan  # a frame without a face does not count
            r = talkvid_region(boxes, width, height)
            assert (r.x0, r.y0, r.w, r.h) == _talkvid_reference(boxes[~np.isnan(boxes).any(1)], width, height)


def test_warp_equals_bilinear_resize_of_the_slice(testmedia: Path) -> None:
    """The crop is cv2.INTER_LINEAR of TalkVid's slice (edge replicated), up- and down-scaled, to 1 level."""
    frame = decode_rgb(testmedia / "positives/liveportrait__s32.mp4", max_frames=1)  # 1280x720
    rgb = torch.from_numpy(frame)
    for region in (
        CropRegion(500.0, 100.0, 300.0, 300.0, True),
        CropRegion(1000.0, 300.0, 280.0, 420.0, True),
    ):
        for size in (512, 128):
            got = _warp_chunk(rgb, [region], size)[0]
            x0, y0, w, h = int(region.x0), int(region.y0), int(region.w), int(region.h)
            ref = cv2.resize(frame[0, y0 : y0 + h, x0 : x0 + w], (size, size), interpolation=cv2.INTER_LINEAR)
            assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_smoothed_regions_follow_the_face_inside_the_frame() -> None:
    n, width, height = 48, 640, 360
    boxes = np.tile([100.0, 100.0, 200.0, 220.0], (n, 1))
    boxes[24:, [0, 2]] += 60  # the face jumps 60 px to the right at frame 24
    boxes[10] = np.nan
    raw = smoothed_regions(boxes, width, height, 24.0, 0.0)
    smooth = smoothed_regions(boxes, width, height, 24.0, 1.0)
    for r in raw + smooth:
        assert r.w == r.h <= min(width, height)
        assert 0 <= r.x0 <= width - r.w and 0 <= r.y0 <= height - r.h
    assert raw[0].w == pytest.approx(1.6 * 120) and raw[10] == raw[9]
    raw_cx = np.array([r.x0 + r.w / 2 for r in raw])
    smooth_cx = np.array([r.x0 + r.w / 2 for r in smooth])
    assert np.abs(np.diff(raw_cx)).max() == pytest.approx(60)
    assert np.abs(np.diff(smooth_cx)).max() == pytest.approx(60 / 25, rel=1e-6)  # 25-frame window
    big = smoothed_regions(np.tile([0.0, 0.0, 600.0, 350.0], (4, 1)), width, height, 24.0, 1.0)
    assert big[0].w == height and big[0].y0 == 0  # capped at the short side, nothing outside
