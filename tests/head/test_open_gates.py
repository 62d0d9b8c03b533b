"""Real-clip verdicts of the head stage with `open`'s gates (face area per the annotation guideline, face-crop
quality) against the labels of ../shared/testmedia/labels.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from talkvid_fast.head.stage import HeadStage, sample_indices
from talkvid_fast.profile import load_profile
from tests.media import make_clip


def _real_clip(path: Path) -> tuple[Any, dict[int, np.ndarray]]:
    """The whole video as one clip, and its frames at the head stage's 1 fps sample only (two decode passes)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        times = np.array([float(f.time) for f in c.decode(video=0)])
    clip = make_clip(f"{path.stem}-scene1", w, h, 25.0, times - times[0], str(path))
    wanted = set(sample_indices(clip, "exact").tolist())
    with av.open(str(path)) as c:
        frames = {i: f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i in wanted}
    return clip, frames


def _run(section: dict[str, Any], clip: Any, frames: dict[int, np.ndarray]) -> Any:
    stage = HeadStage({**section, "scores": "reference"})
    stage.setup()
    (req,) = stage.requests(clip)
    view = torch.from_numpy(np.stack([frames[int(i)] for i in req.indices]))
    (result,) = stage.process([(clip, {req.name: view})])
    return result


def test_kept_talking_head_passes_every_open_gate(testmedia: Path, facemesh_dir: Path) -> None:
    """retalking face1: labelled keep, visual_quality good, face ~11 % of the frame."""
    r = _run(load_profile("open").section("head"), *_real_clip(testmedia / "positives/retalking__face1.mp4"))
    assert r.passed, (r.failed_gate, r.scores)
    assert {"crop_sharpness", "crop_exposure", "crop_noise", "crop_blockiness"} <= set(r.gates)
    assert 300 <= r.scores["avg_resolution"] < 450  # 10-15 % of the frame


def test_small_face_fails_the_guideline_area_gate_only_in_open(testmedia: Path, facemesh_dir: Path) -> None:
    """liveportrait s32: labelled face_large false (a 16:9 interview, face a few % of the frame). The paper's
    gate (resolution 50, 1.67 %) passes it; the guideline's 10 % (resolution 300) rejects it."""
    clip, frames = _real_clip(testmedia / "positives/liveportrait__s32.mp4")
    paper = _run(load_profile("paper").section("head"), clip, frames)
    assert paper.gates["resolution_avg"] and 50 <= paper.scores["avg_resolution"] < 300
    opened = _run(load_profile("open").section("head"), clip, frames)
    assert opened.failed_gate == "resolution_avg" and not opened.passed
