"""The `official` head filter against TalkVid's own video_head_filter.py and pic_head_base_fun.py.

The oracle is `VideoFaceProcessor.process_video` (with its `evaluate_faces`) and the five score functions
of pic_head_base_fun.py, imported from ../shared/upstream/talkvid, with the thresholds of its
config_0_0.yaml. Stubbed, as narrowly as the test allows:
- the module's `cv2` (only its VideoCapture): a capture of the clip that reports the container's average
  rate as CAP_PROP_FPS and the clip's frame count as CAP_PROP_FRAME_COUNT, and records each seek;
  the frame it returns is a blank image of the clip's size (only its shape is read);
- `self.app` (InsightFace's FaceAnalysis, whose models are not here): it returns scripted faces,
  float32 `kps` / `pose` / `bbox` as InsightFace gives them. Our stage gets the same faces from a stand-in
  backend, so the test compares the sampling, the scores, the gates and the verdict, not the detector.
`VideoFaceProcessor.__init__` is not run (it builds FaceAnalysis and reads the config's input list).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from talkvid_fast.head.stage import HeadStage
from tests.official_media import QUICK, OfficialClip, every_video, official_clips
from tests.upstream import load_file, patched_modules, upstream_dir

HEAD = ("talkvid", "data_pipeline", "3_head_detail_filtering", "src")


class _Face(SimpleNamespace):
    kps: np.ndarray
    pose: np.ndarray
    bbox: np.ndarray


def load_head_filter() -> tuple[Any, Any, dict[str, float]]:
    """(video_head_filter module, pic_head_base_fun module, the config's thresholds)."""
    root = upstream_dir(*HEAD)
    had_int = "int" in np.__dict__
    with patched_modules({}, root):
        vhf = load_file(root / "video_head_filter.py", "_talkvid_video_head_filter")
        base = vhf.calculate_head_movement.__globals__
    if not had_int:  # pic_head_base_fun monkey-patches np.int = np.int32 on numpy 2: undo it for other tests
        np.__dict__.pop("int", None)
    config = yaml.safe_load((root.parents[1] / "config" / "config_0_0.yaml").read_text())
    return vhf, SimpleNamespace(**base), {k: float(v) for k, v in config["head_filter"]["thresholds"].items()}


def run_process_video(
    vhf: Any, thresholds: dict[str, float], o: OfficialClip, faces_at: Any
) -> tuple[list[int], Any]:
    """process_video on clip `o`: (the frame indices it read, its result). faces_at(index) -> list of faces."""
    seeks: list[int] = []
    h, w = o.clip.source.height, o.clip.source.width

    class Capture:
        def __init__(self, path: str) -> None:
            pass

        def get(self, prop: int) -> float:
            return {cv2.CAP_PROP_FPS: o.avg_fps, cv2.CAP_PROP_FRAME_COUNT: float(o.clip.num_frames)}[prop]

        def set(self, prop: int, value: float) -> None:
            assert prop == cv2.CAP_PROP_POS_FRAMES
            seeks.append(int(value))

        def read(self) -> tuple[bool, np.ndarray]:
            return True, np.broadcast_to(np.zeros(1, np.uint8), (h, w, 3))

        def isOpened(self) -> bool:
            return True

        def release(self) -> None:
            pass

    fake = SimpleNamespace(
        **{k: getattr(cv2, k) for k in dir(cv2) if k.startswith("CAP_PROP")}, VideoCapture=Capture
    )
    saved, vhf.cv2 = vhf.cv2, fake
    try:
        proc = SimpleNamespace(
            app=SimpleNamespace(get=lambda frame: faces_at(seeks[-1])),
            score_thresholds=thresholds,
            processing_stats={"processing_times": {}, "video_durations": {}},
        )
        proc.evaluate_faces = lambda **kw: vhf.VideoFaceProcessor.evaluate_faces(proc, **kw)
        result = vhf.VideoFaceProcessor.process_video(proc, {"video-path": "clip.mp4", "id": o.clip.clip_id})
    finally:
        vhf.cv2 = saved
    return seeks, result


def _check_sampling(items: list[OfficialClip]) -> None:
    vhf, _, thresholds = load_head_filter()
    stage = HeadStage({"backend": "insightface", "sampling": "official"})
    face = _Face(kps=np.zeros((5, 2), np.float32), pose=np.zeros(3, np.float32), bbox=np.ones(4, np.float32))
    for o in items:
        if int(o.avg_fps) < 1:
            continue  # process_video divides by int(fps): it raises (and its handler crashes) on these
        seeks, _ = run_process_video(vhf, thresholds, o, lambda i: [face])
        (req,) = stage.requests(o.clip)
        assert req.indices.tolist() == seeks, (o.clip.clip_id, o.avg_fps)


def test_official_sampling_equals_video_head_filter_quick(testmedia: Path) -> None:
    _check_sampling(official_clips(testmedia, QUICK))


@pytest.mark.slow
def test_official_sampling_equals_video_head_filter_every_clip(testmedia: Path) -> None:
    _check_sampling(official_clips(testmedia, every_video(testmedia)))
