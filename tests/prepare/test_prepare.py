"""`python -m talkvid_fast.prepare` on the passing clips of a real run (two test media, facemesh head filter):
killed and resumed, crops against a reference of TalkVid's crop rule, face info against the head stage's own
scores, audio against the source, and each trainer's manifest read back (WebDataset by its own library)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from ..conftest import decode_rgb
from ..pipeline.helpers import REPO

FPS = 4  # a low output rate keeps the per-frame face models quick on the CPU; the rule is the same at 24


def _prepare(*args: str) -> list[str]:
    return [sys.executable, "-m", "talkvid_fast.prepare", *args]


def _journal(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def vexpress(run: Path) -> Path:
    """Prepared once, killed (SIGKILL) after the first source is committed, then resumed."""
    out = run.parent / "vexpress"
    cmd = _prepare("--run", str(run), "--format", "vexpress", "--out", str(out), "--fps", str(FPS))
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        journal = out / "journal.jsonl"
        if journal.is_file() and '"kind": "source"' in journal.read_text():
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the first run ended before it could be killed"
    first = [r for r in _journal(out) if r["kind"] == "source"]
    assert len(first) == 1
    done = next(r for r in _journal(out) if r["kind"] == "clip")
    mtime = (out / done["files"]["video"]).stat().st_mtime_ns
    resumed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / done["files"]["video"]).stat().st_mtime_ns == mtime  # the committed source was skipped
    return out


def test_resume_after_kill_lists_every_clip_once(run: Path, vexpress: Path) -> None:
    from talkvid_fast.manifest import read_run

    passing = sorted(c["clip_id"] for c in read_run(run).clips if c["passed"])
    assert len(passing) == 2
    records = _journal(vexpress)
    assert sorted(r["clip_id"] for r in records if r["kind"] == "clip") == passing
    assert len([r for r in records if r["kind"] == "source"]) == 2
    rows = json.loads((vexpress / "vexpress.json").read_text())
    assert sorted(Path(r["video"]).stem for r in rows) == passing
    summary = json.loads((vexpress / "prepare_summary.json").read_text())
    assert summary["prepared"] == 2 and summary["this_run_clips"] == 1
    # a different parameter is refused on the same folder
    other = subprocess.run(_prepare("--run", str(run), "--format", "vexpress", "--out", str(vexpress), "--fps", "5"),
                           cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert other.returncode == 2 and "--fresh" in other.stderr


def _clips(vexpress: Path) -> list[dict[str, Any]]:
    return [r for r in _journal(vexpress) if r["kind"] == "clip"]


def test_crops_follow_talkvids_rule(run: Path, vexpress: Path) -> None:
    """Every output frame = bilinear resize of TalkVid's slice (union box of the clip's faces, 1.6x, from
    the spec) of the source frame it shows, within x264's loss."""
    for rec in _clips(vexpress):
        info = np.load(vexpress / rec["files"]["face_info"])
        src = decode_rgb(Path(rec["source_path"]))
        # the face boxes back in frame pixels (crop_matrix: frame -> crop), their union, TalkVid's square
        m = info["crop_matrix"][0]
        boxes = info["bbox"].astype(np.float64)
        frame_boxes = np.column_stack([(boxes[:, 0] - m[0, 2]) / m[0, 0], (boxes[:, 1] - m[1, 2]) / m[1, 1],
                                       (boxes[:, 2] - m[0, 2]) / m[0, 0], (boxes[:, 3] - m[1, 2]) / m[1, 1]])  # fmt: skip
        x1, y1 = frame_boxes[:, :2].min(0)
        x2, y2 = frame_boxes[:, 2:].max(0)
        half = int(int(max(x2 - x1, y2 - y1) * 1.6) / 2)
        left, top = max(int((x1 + x2) / 2) - half, 0), max(int((y1 + y2) / 2) - half, 0)
        assert abs(left - rec["crop_region"][0]) <= 1 and abs(top - rec["crop_region"][1]) <= 1
        left, top = int(rec["crop_region"][0]), int(rec["crop_region"][1])
        with av.open(str(vexpress / rec["files"]["video"])) as c:
            out = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(out) == rec["frames"] == len(info["source_frame"])
        for k in range(0, len(out), 3):
            cut = src[info["source_frame"][k], top : top + 2 * half, left : left + 2 * half]
            ref = cv2.resize(cut, (512, 512), interpolation=cv2.INTER_LINEAR).astype(int)
            diff = np.abs(out[k].astype(int) - ref)
            assert diff.mean() < 2.5 and np.percentile(diff, 99) < 16, (rec["clip_id"], k, diff.mean())
            assert (out[k].shape[0], out[k].shape[1]) == (512, 512)


def test_face_info_agrees_with_the_head_stage(run: Path, vexpress: Path) -> None:
    """The head stage scored these clips at 1 fps from its own decode; the prepared face info (4 fps, other
    frames), mapped back to the frame, gives about the same face size and orientation (the spec's scores)."""
    from talkvid_fast.manifest import read_run

    head = {c["clip_id"]: c["stages"]["head"]["scores"] for c in read_run(run).clips}
    for rec in _clips(vexpress):
        info = np.load(vexpress / rec["files"]["face_info"])
        assert (info["face_count"] == 1).all() and info["landmarks"].shape[1:] == (468, 3)
        m = info["crop_matrix"]
        sx, sy = m[:, 0, 0], m[:, 1, 1]
        area = (info["bbox"][:, 2] - info["bbox"][:, 0]) / sx * (info["bbox"][:, 3] - info["bbox"][:, 1]) / sy
        probe = next(c for c in read_run(run).clips if c["clip_id"] == rec["clip_id"])
        resolution = 30 * np.mean(100 * area / (probe["width"] * probe["height"]))
        assert resolution == pytest.approx(head[rec["clip_id"]]["avg_resolution"], rel=0.1), rec["clip_id"]
        orientation = 100 - np.mean(np.linalg.norm(info["pose"] / 180 * 100, axis=1))
        assert orientation == pytest.approx(head[rec["clip_id"]]["avg_orientation"], abs=2.0)
        # kps are Face Mesh points: eyes above the nose above the mouth, inside the box
        kps, box = info["kps"], info["bbox"]
        assert (kps[:, :2, 1] < kps[:, 2:3, 1]).all() and (kps[:, 2, 1] < kps[:, 3:, 1].min(1)).all()
        assert ((kps[..., 0] > box[:, None, 0]) & (kps[..., 0] < box[:, None, 2])).all()


def test_audio_is_the_sources_16k_mono_from_the_clip_start(vexpress: Path) -> None:
    import av.audio.resampler

    for rec in _clips(vexpress):
        with wave.open(str(vexpress / rec["files"]["audio"])) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
            ours = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64)
        assert len(ours) == round(rec["frames"] / rec["fps"] * 16_000)
        # independent decode: the whole source's audio at 16 kHz mono; ours must sit at the clip's start
        with av.open(rec["source_path"]) as c:
            res = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=16_000)
            chunks = [o.to_ndarray().reshape(-1) for f in c.decode(audio=0) for o in res.resample(f)]
        full = np.concatenate(chunks).astype(np.float64)
        lags = range(-400, 401)
        at = int(round(rec["start"] * 16_000))
        err = [np.abs(full[at + lag : at + lag + len(ours)] - ours).mean() for lag in lags]
        assert abs(lags[int(np.argmin(err))]) <= 16  # 1 ms; one 24 fps frame is 667 samples


def test_face_info_is_the_head_models_output_on_the_shown_frame(vexpress: Path) -> None:
    """The head stage's backend run here on the source frame each output frame shows gives the stored
    landmarks and box once the crop transform is undone (same models, so to float32 rounding)."""
    import torch

    from talkvid_fast.head._facemesh_backend import FaceMeshBackend

    backend = FaceMeshBackend(torch.device("cpu"))
    for rec in _clips(vexpress):
        info = np.load(vexpress / rec["files"]["face_info"])
        src = decode_rgb(Path(rec["source_path"]))
        ks = [0, len(info["source_frame"]) // 2, len(info["source_frame"]) - 1]
        faces = backend.analyze([torch.from_numpy(src[info["source_frame"][ks]])])[0]
        for k, f in zip(ks, faces, strict=True):
            m = info["crop_matrix"][k]
            lm = info["landmarks"][k].astype(np.float64)
            frame_xy = np.column_stack([(lm[:, 0] - m[0, 2]) / m[0, 0], (lm[:, 1] - m[1, 2]) / m[1, 1]])
            assert f.count == 1
            assert np.abs(frame_xy - f.landmarks[0, :, :2]).max() < 0.05
            assert np.allclose(lm[:, 2], f.landmarks[0, :, 2] * m[0, 0], atol=0.05)
            assert info["pose"][k] == pytest.approx(f.pose[0], abs=0.05)  # a similarity leaves the pose as is


def _vexpress_reader(manifest: Path) -> list[dict[str, Any]]:
    """V-Express's TalkingFaceVideo as far as its data goes (datasets/talking_face_video.py): per entry the
    video's frames, `face_info[frame][0]` with `kps` (first 3 drawn), `bbox` (face mask) and
    `landmark_2d_106[52:72]` (lip box), built by the adapter docs/prepare.md gives for the .npz."""
    lips = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375]
    samples = []
    for entry in json.loads(manifest.read_text()):
        with av.open(entry["video"]) as c:
            frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        f = np.load(entry["face_info"])
        lm106 = np.zeros((len(f["bbox"]), 106, 2), np.float32)
        lm106[:, 52:72] = f["landmarks"][:, lips, :2]
        face_info = [
            [{"bbox": f["bbox"][i], "kps": f["kps"][i], "landmark_2d_106": lm106[i]}]
            for i in range(len(lm106))
        ]
        samples.append({"frames": frames, "face_info": face_info, "audio_embeds": entry["audio_embeds"]})
    return samples


def test_vexpress_manifest_reads_as_v_express_reads_it(vexpress: Path) -> None:
    for s in _vexpress_reader(vexpress / "vexpress.json"):
        frames, info = s["frames"], s["face_info"]
        assert len(info) == len(frames) and frames.shape[1:] == (512, 512, 3)
        assert s["audio_embeds"] is None  # no --audio-features
        for i in range(0, len(frames), 5):
            face = info[i][0]
            x1, y1, x2, y2 = face["bbox"]
            assert 0 <= int(x1) < int(x2) < 512 and 0 <= int(y1) < int(y2) < 512  # their face mask slice
            lip = face["landmark_2d_106"][52:72]
            assert (
                x1 < lip[:, 0].min() < lip[:, 0].max() < x2 and (lip[:, 1] > (y1 + y2) / 2).all()
            )  # lower face
            eyes_nose = face["kps"][:3]
            assert eyes_nose[0, 0] < eyes_nose[2, 0] < eyes_nose[1, 0]  # image-left eye, nose, right eye
