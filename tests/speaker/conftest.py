"""Fixtures of the speaker tests: Light-ASD's real weights (../shared/weights), a weights home that holds
them next to the fetched facemesh files, and real clips cut to a few seconds."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import REPO
from tests.media import make_clip

WEIGHTS = Path(os.environ.get("TALKVID_SHARED_WEIGHTS", REPO.parent / "shared" / "weights"))
UPSTREAM = Path(os.environ.get("TALKVID_UPSTREAM", REPO.parent / "shared" / "upstream")) / "light-asd"
DEFAULT = "pretrain_AVA_CVPR.model"  # the stage's default weights
TALKSET = "finetuning_TalkSet.model"


@pytest.fixture(scope="session")
def light_asd_file() -> Path:
    path = WEIGHTS / "light_asd" / DEFAULT
    if not path.is_file():
        pytest.skip(f"Light-ASD weights not found at {path} (set TALKVID_SHARED_WEIGHTS)")
    return path


@pytest.fixture()
def speaker_home(light_asd_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TALKVID_FAST_HOME with the shared Light-ASD files and the already fetched facemesh set linked in."""
    from talkvid_fast.head.weights import FACEMESH
    from talkvid_fast.weights import WeightsMissing, locate

    try:
        facemesh = locate(FACEMESH, FACEMESH.files[0].name).parent
    except WeightsMissing as exc:
        pytest.skip(f"facemesh weights not fetched: {exc}")
    home = tmp_path / "home"
    (home / "weights").mkdir(parents=True)
    (home / "weights" / "light_asd").symlink_to(light_asd_file.parent)
    (home / "weights" / "facemesh").symlink_to(facemesh)
    monkeypatch.setenv("TALKVID_FAST_HOME", str(home))
    return home


def real_clip(path: Path, seconds: float, **source: Any) -> tuple[Any, np.ndarray]:
    """The first `seconds` of a real clip as a Clip (with its audio stream) and its RGB frames."""
    import av

    frames, times = [], []
    with av.open(str(path)) as c:
        has_audio = bool(c.streams.audio)
        for f in c.decode(video=0):
            if float(f.time) >= seconds:
                break
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
    t = np.asarray(times)
    n, h, w, _ = np.shape(frames)
    end = min(seconds, float(t[-1] + (t[-1] - t[0]) / max(1, n - 1)))
    clip = make_clip(f"{path.stem}-scene1", w, h, n / end, t, str(path))
    src = dataclasses.replace(clip.source, audio_codec="aac" if has_audio else None, **source)
    return dataclasses.replace(clip, source=src, end=end), np.stack(frames)
