"""The `official` motion selection picks the frames TalkVid's own camera_filtering.py picks, on every clip.

The oracle is camera_filtering.main() itself (../shared/upstream/talkvid), run on a JSON list of the clips:
it opens each clip with decord, reads the average frame rate, resamples above 30 fps, resizes by 0.25 (cv2
INTER_AREA), trims 0.2 s, cuts its segments from the `durations` string and hands each segment's frames
to the CoTracker predictor. Stubbed, as narrowly as the test allows:
- `decord` (not installed): a VideoReader over the clip's decoded frames, in order (Note [Official clock]:
  our clips are virtual, so decord's frame i of the re-encoded clip is the clip's frame i), reporting the
  container's average rate; each frame is a constant image whose pixel value encodes its index, so the
  indices survive the official resize;
- `cotracker.predictor.CoTrackerPredictor` (the model is not what this test is about, and the shared
  upstream copy of co-tracker lacks the CoTracker2 file its builder imports): it records the frames it is
  given and returns all-visible tracks;
- `torchvision.transforms` (not installed; only its GPU resize path uses it, and the test runs the CPU path).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from talkvid_fast.motion import sampling
from talkvid_fast.motion.stage import MotionStage
from tests.official_media import QUICK, OfficialClip, every_video, official_clips
from tests.upstream import load_file, patched_modules, stub_module, upstream_dir

CAMERA = ("talkvid", "data_pipeline", "2_video_quality_motion_filtering", "co-tracker")


def _encode(indices: list[int] | np.ndarray, size: int = 8) -> np.ndarray:
    idx = np.asarray(indices, np.int64)
    px = np.stack([idx % 256, idx // 256 % 256, np.full_like(idx, 7)], axis=-1).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(px[:, None, None, :], (len(idx), size, size, 3)))


def _decode(frames: torch.Tensor) -> list[int]:
    """(1, T, 3, h, w) float frames as the predictor receives them -> the frame indices they carry."""
    px = frames[0, :, :, 0, 0].round().long()
    assert torch.all(frames[0] == frames[0, :, :, :1, :1]), "a frame is no longer constant"
    return (px[:, 0] + 256 * px[:, 1]).tolist()


def run_camera_filtering(items: list[OfficialClip], tmp: Path) -> dict[str, list[list[int]]]:
    """camera_filtering.main() on `items`: per clip id, the frame indices of every segment it tracked."""
    root = upstream_dir(*CAMERA)
    (tmp / "clips").mkdir(exist_ok=True)
    by_path = {str(tmp / "clips" / f"{o.clip.clip_id}.mp4"): o for o in items}
    for path in by_path:
        Path(path).touch()  # main() checks that the file exists before handing it to decord
    seen: dict[str, list[list[int]]] = {}
    current: list[str] = []

    class VideoReader:
        def __init__(self, path: str, ctx: Any = None, num_threads: int = 0) -> None:
            self.item = by_path[path]
            current[:] = [self.item.clip.clip_id]
            seen[self.item.clip.clip_id] = []

        def get_avg_fps(self) -> float:
            return self.item.avg_fps

        def __len__(self) -> int:
            return self.item.clip.num_frames

        def get_batch(self, indices: list[int]) -> torch.Tensor:
            assert all(0 <= i < len(self) for i in indices)
            return torch.from_numpy(_encode(indices))

    class Predictor(torch.nn.Module):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__()
            assert kwargs["offline"] and kwargs["window_len"] == 60

        def forward(self, video: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
            seen[current[0]].append(_decode(video))
            t = video.shape[1]
            return torch.zeros(1, t, 4, 2), torch.ones(1, t, 4, dtype=torch.bool)

    decord = stub_module(
        "decord",
        VideoReader=VideoReader,
        cpu=lambda i: None,
        bridge=stub_module("decord.bridge", set_bridge=lambda b: None),
    )
    stubs = {
        "decord": decord,
        "cotracker": stub_module("cotracker"),
        "cotracker.predictor": stub_module("cotracker.predictor", CoTrackerPredictor=Predictor),
        "torchvision": stub_module("torchvision"),
        "torchvision.transforms": stub_module("torchvision.transforms"),
    }
    records = [{"id": o.clip.clip_id, "video-path": p, "durations": o.durations} for p, o in by_path.items()]
    (tmp / "in.json").write_text(json.dumps(records))
    handlers = list(logging.getLogger().handlers)
    with patched_modules(stubs):
        module = load_file(root / "camera_filtering.py", "_talkvid_camera_filtering")
        args = argparse.Namespace(
            json_path=str(tmp / "in.json"),
            output_json=str(tmp / "out.jsonl"),
            checkpoint="scaled_offline.pth",
            grid_size=100,
            grid_query_frame=0,
            backward_tracking=True,
            use_v2_model=False,
            offline=True,
            device_id=0,
            gpu_preprocess=False,
            timestamp="test",
        )
        try:
            module.main(args)
        finally:  # setup_logger's basicConfig may have added handlers to the root logger
            for handler in set(logging.getLogger().handlers) - set(handlers):
                logging.getLogger().removeHandler(handler)
                handler.close()
    return seen


def ours(o: OfficialClip) -> list[list[int]]:
    stage = MotionStage({"method": "official", "backend": "cotracker"})
    (req,) = stage.requests(o.clip)
    plan = sampling.plan_segments(o.clip.num_frames, o.clip.official_fps, o.clip.official_duration)
    np.testing.assert_array_equal(req.indices, plan.indices)  # what the stage asks the decoder for
    parts = [plan.indices[a:b].tolist() for a, b in zip(plan.bounds[:-1], plan.bounds[1:], strict=True)]
    return [p for p in parts if p]  # the official code skips an empty segment, and so does the stage


def _check(items: list[OfficialClip], tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp)  # setup_logger writes logs/cotracker/<timestamp>/ under the working directory
    monkeypatch.setenv("DECORD_EOF_RETRY_MAX", "0")  # the module sets it at import; undone after the test
    items = [o for o in items if o.clip.num_frames > 0]
    official = run_camera_filtering(items, tmp)
    assert set(official) == {o.clip.clip_id for o in items}
    low = [o for o in items if o.avg_fps < 5]  # the official trim [0:-0] empties these: it tracks nothing
    assert all(official[o.clip.clip_id] == [] for o in low if o.clip.num_frames > o.avg_fps)
    for o in items:
        if o not in low:
            assert ours(o) == official[o.clip.clip_id], (o.clip.clip_id, o.durations, o.avg_fps)


def test_official_segments_equal_camera_filtering_quick(
    testmedia: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(official_clips(testmedia, QUICK), tmp_path, monkeypatch)


@pytest.mark.slow
def test_official_segments_equal_camera_filtering_every_clip(
    testmedia: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(official_clips(testmedia, every_video(testmedia)), tmp_path, monkeypatch)


@pytest.mark.parametrize(
    "fps", [60.0, 59.94005994005994, 50.0, 48.0, 120.0, 30.0, 29.97002997002997, 24.0, 12.5]
)
@pytest.mark.parametrize("frames", [37, 180, 361, 389, 600, 1234])
def test_official_segments_equal_camera_filtering_any_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fps: float, frames: int
) -> None:
    """Rates the media lack (above 30 fps: the resampling branch), on clips of every segment layout."""
    from tests.media import make_clip

    durations = round(frames / fps, 1)
    clip = replace(make_clip("x-scene1", 64, 48, fps, np.arange(frames) / fps), rounded_duration=durations)
    clip = replace(clip, source=replace(clip.source, average_fps=fps))
    _check([OfficialClip(clip, fps, f"{durations}s")], tmp_path, monkeypatch)
