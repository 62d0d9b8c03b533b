"""A worker hands every stage its views on the stage's device (FrameRequest's contract), whatever device
the decoder that ran wrote them to: a CUDA worker whose source fell back to CPU decoding (PyAV) must not
hand host frames to a device engine. `meta` stands in for the GPU here (the decoder writes CPU tensors)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from talkvid_fast.clips import Clip
from talkvid_fast.stages import FrameRequest, StageResult, Views
from tests.media import scene_frames, write_video


class _Recorder:
    name: ClassVar[str] = "quality"
    seen: ClassVar[list[torch.device]] = []

    def __init__(self, params: dict[str, Any], device: str = "cpu") -> None:
        self.device = torch.device(device)

    def setup(self) -> None: ...

    def requests(self, clip: Clip) -> list[FrameRequest]:
        return [FrameRequest("v", np.arange(0, clip.num_frames, 10), (16, 16))]

    def process(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]:
        _Recorder.seen.extend(v.device for _, views in batch for v in views.values())
        return [StageResult(passed=True) for _ in batch]


def test_views_reach_the_stage_on_its_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from talkvid_fast.pipeline import _worker
    from talkvid_fast.pipeline._config import RunConfig
    from talkvid_fast.profile import load_profile

    path = write_video(tmp_path / "s.mp4", scene_frames([70], size=(48, 64)), fps=10)  # one 7 s scene
    monkeypatch.setattr(_worker, "load_stage", lambda name, params, device: _Recorder(params, device))
    profile = load_profile("official")
    config = RunConfig(
        dataclasses.replace(profile), tmp_path / "out", stages=["segment", "quality"], device="meta"
    )
    _Recorder.seen.clear()
    src, clips = _worker.Worker(config).process({"video-path": str(path), "video-id": "s"})
    assert src["status"] == "ok" and src["decoder"] == "pyav-cpu" and len(clips) == 1, src
    assert _Recorder.seen == [torch.device("meta")]
