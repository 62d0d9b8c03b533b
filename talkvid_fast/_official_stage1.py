"""The official TalkVid stage 1 method, for side-by-side timing only (reference/official-pipeline.md §2).

Per source: scenedetect's own SceneManager on full frames (OpenCV backend, HistogramDetector 0.085, its own
downscale), then every scene, however short, re-encoded with x264 (preset medium, CRF 23, video only:
`ffmpeg -ss S -i SRC -t D -c:v libx264 -preset medium -an`), and its first frame read back and written
as PNG. The encode runs through PyAV's libx264 (the same encoder as the ffmpeg CLI) from a seek to the
scene start, so the work matches the official pipeline's; its outputs are thrown away.
"""

from __future__ import annotations

import os
import tempfile
import time
from fractions import Fraction

import av
import cv2


def official_stage1(path: str) -> dict[str, float]:
    from scenedetect import SceneManager, StatsManager, open_video
    from scenedetect.detectors import HistogramDetector

    started = time.perf_counter()
    video = open_video(path)
    manager = SceneManager(StatsManager())
    manager.add_detector(HistogramDetector(threshold=0.085))
    manager.detect_scenes(video)
    scenes = manager.get_scene_list()
    detect = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        for n, (start, end) in enumerate(scenes, start=1):
            a = max(0.0, start.get_seconds() + 0.4 - 0.1)
            b = max(0.0, end.get_seconds() - 0.1)
            out_path = os.path.join(tmp, f"scene{n}.mp4")
            _encode_span(path, a, b, out_path)
            cap = cv2.VideoCapture(out_path)
            ok, frame = cap.read()
            cap.release()
            if ok:
                cv2.imwrite(os.path.join(tmp, f"scene{n}.png"), frame)
    return {"scenes": len(scenes), "detect_seconds": detect, "total_seconds": time.perf_counter() - started}


def _encode_span(path: str, start: float, end: float, out_path: str) -> None:
    with av.open(path) as src, av.open(out_path, "w") as out:
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        rate = vin.average_rate or Fraction(25)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height = (
            vin.codec_context.width - vin.codec_context.width % 2,
            vin.codec_context.height - vin.codec_context.height % 2,
        )
        vout.pix_fmt = "yuv420p"
        vout.options = {"crf": "23", "preset": "medium"}
        src.seek(int(start * av.time_base), backward=True)
        n = 0
        for frame in src.decode(vin):
            if frame.time is None or frame.time < start:
                continue
            if frame.time >= end:
                break
            img = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
            img.pts = n
            img.time_base = 1 / Fraction(
                rate
            )  # reformat() keeps the source's time base; pts count frames here
            n += 1
            for packet in vout.encode(img):
                out.mux(packet)
        for packet in vout.encode(None):
            out.mux(packet)
