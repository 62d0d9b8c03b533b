"""Light-ASD against upstream's own code (../shared/upstream/light-asd) with the real TalkSet weights.

Oracles, imported here only: `model/*.py` + `loss.py` (the network and its head), and `Columbia_test.py`'s
`track_shot`, `crop_video` and `evaluate_network` (tracking, crops, MFCCs, the multi-duration average).
Columbia_test.py is a script: it parses argv at import, reads JPEG files, writes XVID videos and calls ffmpeg
and CUDA. We stub only its I/O: `cv2.imread`/`glob` serve our decoded frames, `cv2.VideoWriter` records the
224x224 crops it writes, `cv2.VideoCapture` plays them back, `wavfile.read` returns our 16 kHz audio of the
track's span, `subprocess.call`/`os.remove` do nothing, `.cuda()` is the identity and `torch.load` maps to
the CPU. Its S3FD import is stubbed (we feed our BlazeFace detections to its tracker instead). The crop
then skips the XVID round trip on both sides, so crops must match exactly.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from talkvid_fast.speaker.features import (
    SAMPLES_PER_FRAME,
    face_tracks,
    mfcc,
    multi_duration_scores,
    track_crops,
    track_faces,
)
from talkvid_fast.speaker.model import load_light_asd
from tests.speaker.conftest import DEFAULT, TALKSET, UPSTREAM, real_clip

CLIP = "positives/sadtalker__WDA_KatieHill_000.mp4"
TRACK_FRAMES = 29  # detections on every 2nd of frames 0..28: 15 boxes (> minTrack = 10)


class _Proxy(types.SimpleNamespace):
    """A module with some attributes replaced; the rest come from the real one."""

    def __init__(self, real: Any, **over: Any) -> None:
        super().__init__(**over)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _forget_upstream(before: set[str]) -> None:
    """Drops upstream's top-level modules (`model`, `ASD`, `loss`, ...) imported since `before`, nothing else."""
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("model", "ASD", "loss", "columbia_test"):
            del sys.modules[name]


@pytest.fixture(scope="module")
def upstream(light_asd_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Columbia_test.py imported as a module (see the module docstring for what is stubbed)."""
    if not (UPSTREAM / "Columbia_test.py").is_file():
        pytest.skip(f"upstream Light-ASD not found at {UPSTREAM} (set TALKVID_UPSTREAM)")
    folder = tmp_path_factory.mktemp("col")
    (folder / "clip.mp4").write_bytes(b"")  # its argv handling globs for the video at import
    saved_argv, saved_modules = sys.argv, set(sys.modules)
    s3fd = types.ModuleType("model.faceDetector.s3fd")
    s3fd.S3FD = None  # type: ignore[attr-defined]
    sys.modules["model.faceDetector"] = types.ModuleType("model.faceDetector")
    sys.modules["model.faceDetector.s3fd"] = s3fd
    sys.path.insert(0, str(UPSTREAM))
    sys.argv = ["Columbia_test.py", "--videoFolder", str(folder), "--videoName", "clip"]
    try:
        spec = importlib.util.spec_from_file_location("columbia_test", UPSTREAM / "Columbia_test.py")
        assert spec is not None and spec.loader is not None
        col = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(col)
        col.args.pretrainModel = str(light_asd_file)
        col.args.pyframesPath = col.args.pycropPath = "/nonexistent"  # set by its main()
        col.args.audioFilePath = "/nonexistent/audio.wav"
        yield col
    finally:
        sys.argv = saved_argv
        sys.path.remove(str(UPSTREAM))
        _forget_upstream(saved_modules)


@pytest.fixture(scope="module")
def track_data(testmedia: Path) -> dict[str, Any]:
    """KatieHill's first 1.2 s at 25 fps, our BlazeFace boxes on every 2nd frame, the audio."""
    from talkvid_fast.head._facemesh_backend import FaceMeshBackend
    from talkvid_fast.head.weights import FACEMESH
    from talkvid_fast.segment._audio import load_audio_16k
    from talkvid_fast.weights import WeightsMissing, locate

    try:
        locate(FACEMESH, FACEMESH.files[0].name)
    except WeightsMissing as exc:
        pytest.skip(f"facemesh weights not fetched: {exc}")
    clip, frames = real_clip(testmedia / CLIP, TRACK_FRAMES / 25)  # a 25 fps source: frame k at k/25
    grid = np.arange(0, TRACK_FRAMES, 2)
    faces = FaceMeshBackend(torch.device("cpu")).analyze([torch.from_numpy(frames[grid])])[0]
    assert all(f.count == 1 for f in faces)
    boxes = [np.zeros((0, 4))] * TRACK_FRAMES
    for g, f in zip(grid, faces, strict=True):
        boxes[int(g)] = f.box
    audio = load_audio_16k(str(testmedia / CLIP), 0.0, clip.end)
    return {"frames": frames, "boxes": boxes, "audio": audio[: TRACK_FRAMES * SAMPLES_PER_FRAME]}


def _upstream_crops(col: Any, frames: np.ndarray, track: dict[str, Any], audio: np.ndarray) -> np.ndarray:
    """What Columbia_test.crop_video writes: (N, 224, 224, 3) BGR."""
    written: list[np.ndarray] = []

    class Writer:
        def __init__(self, *args: Any) -> None:
            pass

        def write(self, img: np.ndarray) -> None:
            written.append(img.copy())

        def release(self) -> None:
            pass

    names = [f"{i:06d}.jpg" for i in range(len(frames))]
    col.cv2 = _Proxy(col.cv2, VideoWriter=Writer, imread=lambda n: frames[names.index(n)][..., ::-1].copy())
    col.glob = _Proxy(col.glob, glob=lambda pattern: list(names))
    col.subprocess = _Proxy(col.subprocess, call=lambda *a, **k: 0)
    col.wavfile = _Proxy(col.wavfile, read=lambda path: (16000, audio))
    col.os = _Proxy(col.os, remove=lambda path: None)
    col.crop_video(col.args, track, "/nonexistent/00000")
    return np.stack(written)


def test_tracks_and_crops_match_columbia_test(upstream: Any, track_data: dict[str, Any]) -> None:
    """Our track (link, interpolate), face regions (median filter, padded crop, 224) and crops (grey, centre)
    = upstream's."""
    col, frames, boxes = upstream, track_data["frames"], track_data["boxes"]
    dets = [
        [{"frame": f, "bbox": list(b[0]), "conf": 1.0} for b in [boxes[f]] if len(b)]
        for f in range(len(boxes))
    ]
    args = argparse.Namespace(numFailedDet=10, minTrack=10, minFaceSize=1, cropScale=0.4)
    (theirs,) = col.track_shot(args, dets)
    (ours,) = face_tracks(boxes)
    assert ours.frames.tolist() == theirs["frame"].tolist() == list(range(TRACK_FRAMES))
    np.testing.assert_allclose(ours.boxes, theirs["bbox"], rtol=0, atol=1e-9)
    up = _upstream_crops(col, frames, theirs, track_data["audio"])
    grey = np.stack([col.cv2.cvtColor(img, col.cv2.COLOR_BGR2GRAY)[56:168, 56:168] for img in up])
    got = track_crops(frames, ours)
    assert got.shape == grey.shape == (TRACK_FRAMES, 112, 112)
    np.testing.assert_array_equal(got, grey)
    # the 224x224 face regions the sync gate gives SyncNet: crop_video's frames, RGB
    np.testing.assert_array_equal(track_faces(frames, ours), up[..., ::-1])


def test_scores_match_columbia_evaluate_network(
    upstream: Any, track_data: dict[str, Any], light_asd_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-frame scores (MFCCs, length alignment, 1-6 s windows, average) = evaluate_network's.

    Upstream rounds its average to 1 decimal; ours is unrounded, so they agree within 0.05 (+ float32 noise).
    """
    col, frames, audio = upstream, track_data["frames"], track_data["audio"]
    (track,) = face_tracks(track_data["boxes"])
    crops224 = _upstream_crops(col, frames, {"frame": track.frames, "bbox": track.boxes}, audio)

    class Capture:
        def __init__(self, path: str) -> None:
            self.left = list(crops224)

        def isOpened(self) -> bool:
            return True

        def read(self) -> tuple[bool, np.ndarray | None]:
            return (True, self.left.pop(0)) if self.left else (False, None)

        def release(self) -> None:
            pass

    col.cv2 = _Proxy(col.cv2, VideoCapture=Capture)
    monkeypatch.setattr(torch.nn.Module, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(torch, "load", functools.partial(torch.load, map_location="cpu", weights_only=True))
    (theirs,) = col.evaluate_network(["/nonexistent/00000.avi"], col.args)
    model = load_light_asd(light_asd_file)

    def score(seconds: int, a: np.ndarray, v: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(a), torch.from_numpy(v)).numpy()

    ours = multi_duration_scores(mfcc(audio), track_crops(frames, track), score)
    assert len(ours) == len(theirs) == TRACK_FRAMES - 1  # upstream's alignment drops the last frame
    diff = np.abs(ours - np.asarray(theirs))
    assert diff.max() <= 0.05 + 1e-4, diff.max()
    # rounded like upstream they are the same numbers (measured: 1e-7); a value within float noise of a
    # rounding boundary may round the other way on another machine, so one frame may differ by 0.1
    assert np.sum(np.abs(np.round(ours, 1) - np.asarray(theirs)) > 1e-5) <= 1
    assert np.abs(ours).max() > 0.5  # real scores, not a degenerate zero track


@pytest.mark.parametrize("weights", [DEFAULT, TALKSET])
def test_module_matches_upstream_asd_model(
    light_asd_file: Path, track_data: dict[str, Any], weights: str
) -> None:
    """Our LightASD vs upstream ASD_Model + lossAV head, same real weights and inputs, unrounded: <= 1e-4
    (measured 0.0: the same float32 operations in the same order)."""
    light_asd_file = light_asd_file.parent / weights
    if not (UPSTREAM / "model" / "Model.py").is_file():
        pytest.skip(f"upstream Light-ASD not found at {UPSTREAM}")
    sys.path.insert(0, str(UPSTREAM))
    saved = set(sys.modules)
    try:
        from loss import lossAV
        from model.Model import ASD_Model
    finally:
        sys.path.remove(str(UPSTREAM))
        _forget_upstream(saved)
    state = torch.load(light_asd_file, map_location="cpu", weights_only=True)
    net, head = ASD_Model().eval(), lossAV().eval()
    net.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
    head.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("lossAV.")})
    (track,) = face_tracks(track_data["boxes"])
    video = torch.from_numpy(track_crops(track_data["frames"], track)[:28]).float()[None]
    audio = torch.from_numpy(mfcc(track_data["audio"])[:112]).float()[None]
    with torch.inference_mode():
        embed = net.forward_audio_visual_backend(
            net.forward_audio_frontend(audio), net.forward_visual_frontend(video)
        )
        expected = torch.as_tensor(head(embed, labels=None))
        got = load_light_asd(light_asd_file)(audio, video)[0]
    assert expected.shape == got.shape == (28,)
    assert (got - expected).abs().max().item() <= 1e-4
    assert expected.abs().max().item() > 0.5
