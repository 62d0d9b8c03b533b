"""A bench set built from a real run over the shared test media, and the evaluator on known degradations.

The pipeline runs (segment, facemesh head filter, span export) on three test clips whose attributes come
from the input manifest (the media has none: the values below are assigned for the test); the bench draws
2 s spans from the passing clips with a small design that has strata the media cannot fill. "Generated"
folders are made from the ground truth: re-encoded as it is, Gaussian blur (two strengths), frames shuffled,
audio delayed by 3 frames. Real Face Mesh weights give LMD; FID/FVD/Sync run on stand-in networks (stated
below) because the real ones are not in this tree: what this proves for them is the plumbing, not the nets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from talkvid_fast.evalset import build, load_design
from talkvid_fast.evalset._media import read_video
from talkvid_fast.evaluate import __main__ as cli
from talkvid_fast.evaluate._networks import Networks, _facemesh
from talkvid_fast.evaluate.run import FolderMismatch, evaluate
from talkvid_fast.segment import read_wav_16k as read_wav
from tests.media import write_video

REPO = Path(__file__).resolve().parents[2]
FILES: dict[
    str, dict[str, Any]
] = {  # file -> attributes given in the input manifest (assigned for this test)
    "positives/sadtalker__WDA_AlexandriaOcasioCortez_000.mp4": {"gender": "female", "age": 29},
    "positives/sadtalker__WDA_KatieHill_000.mp4": {"gender": "female", "age": 38},
    "positives/retalking__face2.mp4": {"gender": "male"},  # 5.0 s: fails the 5 s rule, so "male" stays empty
}
DESIGN = """
name = "tiny"
clip_seconds = 2.0
[[dimension]]
name = "gender"
attribute = "gender"
group = [{ name = "male", count = 1 }, { name = "female", count = 2 }]
[[dimension]]
name = "ethnicity"
attribute = "ethnicity"
group = [{ name = "Black", count = 1 }]
"""
SHIFT = 3  # frames the audio is delayed by


def fake_inception(frames: torch.Tensor) -> np.ndarray:
    """Stand-in for Inception pool3: a 4x4 colour thumbnail, and the high-frequency energy per channel of
    the central 128x128 (the face)."""
    x = frames.numpy()
    h, w = x.shape[1:3]
    thumb = np.stack([cv2.resize(f, (4, 4), interpolation=cv2.INTER_AREA).reshape(-1) for f in x])
    centre = x[:, h // 2 - 64 : h // 2 + 64, w // 2 - 64 : w // 2 + 64].astype(np.float32)
    hf = np.stack([np.abs(cv2.Laplacian(f, cv2.CV_32F)).mean((0, 1)) for f in centre])
    return np.concatenate([thumb / 16, hf], 1)


def fake_i3d(videos: torch.Tensor) -> np.ndarray:
    """Stand-in for I3D: mean colour and the mean frame-to-frame change of a 4x4 thumbnail per window."""
    out = []
    for v in videos.numpy():
        th = np.stack([cv2.resize(f, (4, 4), interpolation=cv2.INTER_AREA) for f in v]).astype(np.float32)
        out.append(np.concatenate([th.mean((0, 1, 2)) / 16, np.abs(np.diff(th, axis=0)).mean(0).reshape(-1)]))
    return np.stack(out)


class FakeLipReader:
    """Stand-in SyncNet that 'reads lips' perfectly: a video window's embedding is the loudness envelope of
    the ground-truth audio under those 5 frames (the clip found by its first frame), an audio window's the
    envelope of the audio it is given. It proves the plumbing (the video's own audio track, windows, sign)."""

    def __init__(self, bench: Path, manifest: dict[str, Any]) -> None:
        self.clips = []
        for c in manifest["clips"]:
            first = cv2.resize(read_video(bench / c["files"]["video"])[0][0], (224, 224)).astype(np.float32)
            self.clips.append((first, read_wav(bench / c["files"]["audio"])))

    @staticmethod
    def _windows(wav: np.ndarray) -> np.ndarray:
        n = len(wav) // 640
        rms = np.sqrt((wav[: n * 640].astype(np.float64).reshape(n, 640) ** 2).mean(1)) / 1000
        return np.stack([rms[i : i + 5] for i in range(n - 4)])

    def video_embeddings(self, crops: torch.Tensor) -> np.ndarray:
        c0 = crops[0].numpy().astype(np.float32)
        _, wav = min(self.clips, key=lambda fc: float(np.abs(fc[0] - c0).mean()))
        return self._windows(wav)[: len(crops) - 4]

    def audio_embeddings(self, wav: np.ndarray) -> np.ndarray:
        return self._windows(wav)


def _variant(bench: Path, manifest: dict[str, Any], folder: Path, kind: str) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for c in manifest["clips"]:
        frames, _ = read_video(bench / c["files"]["video"])
        audio = read_wav(bench / c["files"]["audio"])
        if kind.startswith("blur"):
            sigma = {"blur1": 1.5, "blur2": 4.0}[kind]
            frames = np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames])
        elif kind == "shuffle":
            frames = frames[rng.permutation(len(frames))]
        elif kind == "shift":
            audio = np.concatenate([np.zeros(SHIFT * 640, np.int16), audio[: -SHIFT * 640]])
        write_video(folder / f"{c['id']}.mp4", list(frames), fps=25, audio=audio, sample_rate=16_000)


@pytest.fixture(scope="module")
def facemesh() -> Any:
    return _facemesh("cpu")


@pytest.fixture(scope="module")
def bench_set(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    testmedia = request.getfixturevalue("testmedia")
    tmp = tmp_path_factory.mktemp("bench")
    inputs = [{"video-path": str(testmedia / f), **attrs} for f, attrs in FILES.items()]
    (tmp / "in.json").write_text(json.dumps(inputs))
    run = tmp / "run"
    r = subprocess.run(
        [sys.executable, "-m", "talkvid_fast.run", "--no-progress", "--no-report", "--input", str(tmp / "in.json"),
         "--output", str(run), "--stages", "segment,head,export", "--export", "spans"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (tmp / "design.toml").write_text(DESIGN)
    build(run, tmp / "bench", load_design(tmp / "design.toml"), seed=0)
    return run, tmp / "bench"


def test_bench_set_from_a_real_run(bench_set: tuple[Path, Path], facemesh: Any) -> None:
    run, bench = bench_set
    m = json.loads((bench / "bench.json").read_text())
    ids = sorted(c["id"] for c in m["clips"])
    assert ids == ["sadtalker__WDA_AlexandriaOcasioCortez_000-scene1", "sadtalker__WDA_KatieHill_000-scene1"]
    assert {(u["dimension"], u["group"], u["got"], u["wanted"]) for u in m["unfilled"]} == {
        ("gender", "male", 0, 1),
        ("ethnicity", "Black", 0, 1),
    }
    assert sorted(json.loads((run / "held_out.json").read_text())) == ids
    spans = [s["id"] for s in json.loads((run / "spans.json").read_text())]
    assert spans == [] and not set(ids) & set(spans)  # the run's two passing clips, both held out
    for c in m["clips"]:
        assert c["span"]["method"] == "head_stable" and c["span"]["end"] - c["span"][
            "start"
        ] == pytest.approx(2.0)
        frames, fps = read_video(bench / c["files"]["video"])
        assert frames.shape == (50, 512, 512, 3) and fps == 25
        assert len(read_wav(bench / c["files"]["audio"])) == 32_000
        png = cv2.imread(str(bench / c["files"]["reference"]))
        assert png is not None and png.shape == (512, 512, 3)
        # the crop is centred on the face: Face Mesh finds one face near the middle of the reference frame
        faces = facemesh.analyze([torch.from_numpy(frames[:1].copy())])[0][0]
        assert faces.count == 1
        cx, cy = (faces.box[0, 0] + faces.box[0, 2]) / 2, (faces.box[0, 1] + faces.box[0, 3]) / 2
        assert abs(cx - 256) < 64 and abs(cy - 256) < 64, (cx, cy)


def test_metrics_follow_known_degradations(
    bench_set: tuple[Path, Path], facemesh: Any, tmp_path: Path
) -> None:
    _, bench = bench_set
    manifest = json.loads((bench / "bench.json").read_text())
    nets = Networks(
        inception=fake_inception, i3d=fake_i3d, syncnet=FakeLipReader(bench, manifest), facemesh=facemesh
    )
    every = ["fid", "fvd", "sync", "psnr", "ssim"]
    metrics = {  # Face Mesh (LMD) is the slow one on a CPU: only where the assertions need it
        "identity": [*every, "lmd"],
        "blur1": every,
        "blur2": [*every, "lmd"],
        "shuffle": [*every, "lmd"],
        "shift": every,
    }
    got: dict[str, dict[str, Any]] = {}
    for kind, names in metrics.items():
        _variant(bench, manifest, tmp_path / kind, kind)
        report = evaluate(
            bench,
            tmp_path / kind,
            tmp_path / f"eval_{kind}",
            names,
            bootstrap=200,
            frame_stride=25,
            networks=nets,
        )
        got[kind] = {**report["subgroups"][0]["values"], "offsets": [c["av_offset"] for c in report["clips"]]}
    i, b1, b2, sh, sf = (got[k] for k in ("identity", "blur1", "blur2", "shuffle", "shift"))
    assert i["psnr"] > b1["psnr"] > b2["psnr"] and i["ssim"] > b1["ssim"] > b2["ssim"]
    assert i["m_lmd"] < b2["m_lmd"] and i["f_lmd"] < b2["f_lmd"]
    assert i["f_lmd"] < sh["f_lmd"]
    assert i["fid"] < b1["fid"] < b2["fid"]  # stand-in features: the plumbing, not Inception
    assert i["fvd"] < sh["fvd"]
    # audio delayed by k: video window i matches audio window i + k, so offset = 15 - (15 + k) = -k
    assert i["offsets"] == [0, 0] and sf["offsets"] == [-SHIFT, -SHIFT]
    md = (tmp_path / "eval_identity" / "results.md").read_text()
    assert "| **gender** |" in md and "| female | 2 |" in md and "| male | 0 |" in md
    assert (tmp_path / "eval_identity" / "plot_gender.png").is_file()


def test_mismatched_folder_and_bad_arguments_are_explained(
    bench_set: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bench = bench_set
    manifest = json.loads((bench / "bench.json").read_text())
    first = manifest["clips"][0]
    frames, _ = read_video(bench / first["files"]["video"])
    bad = tmp_path / "bad"
    bad.mkdir()
    write_video(bad / f"{first['id']}.mp4", list(frames[:40]), fps=30)  # wrong fps, length, no audio
    shutil.copy(bench / first["files"]["reference"], bad / "stray.png")
    with pytest.raises(FolderMismatch) as err:
        evaluate(bench, bad, tmp_path / "e", ["psnr", "sync"], networks=Networks())
    text = str(err.value)
    assert "missing 1 of 2 clips" in text and manifest["clips"][1]["id"] in text
    assert "wrong fps 30" in text and "wrong length 40 frames (expected 50" in text
    assert "no audio track" not in text  # no SyncNet here: Sync is "not run", the audio is not needed
    assert cli.main(["--generated", str(bad), "--bench", str(bench), "--metrics", "fid,bogus"]) == 2
    assert (
        "allowed: all, or a comma list of fid, fvd, sync, lmd, psnr, ssim, lpips" in capsys.readouterr().err
    )
    assert cli.main(["--generated", str(bad), "--bench", str(bench), "--metrics", "psnr"]) == 2
    assert "missing 1 of 2 clips" in capsys.readouterr().err
    args = ["--generated", str(bad), "--bench", str(bench), "--runtime", "onnxruntime", "--device", "cuda"]
    assert cli.main(args) == 2
    assert "--runtime onnxruntime runs on the CPU; allowed with --device cuda" in capsys.readouterr().err
    assert cli.main([*args[:4], "--runtime", "tensorrt"]) == 2  # the default device: cpu
    assert "--runtime tensorrt needs --device cuda; allowed with --device cpu" in capsys.readouterr().err
    second = manifest["clips"][1]
    shutil.copy(bench / second["files"]["video"], bad / f"{second['id']}.mp4")
    write_video(bad / f"{first['id']}.mp4", list(frames), fps=25)  # right fps and length, no audio
    with pytest.raises(FolderMismatch, match="no audio track"):
        evaluate(bench, bad, tmp_path / "e", ["psnr", "sync"], networks=Networks(syncnet=object()))
    evaluate(bench, bad, tmp_path / "e", ["psnr", "sync"], networks=Networks(), bootstrap=0)  # Sync not run


@pytest.mark.slow
def test_real_networks_follow_known_degradations(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """With the real Inception, I3D and SyncNet (evalnets and their fetched weights): FID rises with blur,
    FVD with shuffle, and SyncNet finds the 3-frame audio delay. Skips, saying why, when they are absent."""
    from talkvid_fast.evaluate._networks import load_networks

    nets = load_networks({"fid", "fvd", "sync"}, "cuda" if torch.cuda.is_available() else "cpu")
    if nets.not_run:
        pytest.skip("; ".join(f"{k}: {v}" for k, v in sorted(nets.not_run.items())))
    _, bench = request.getfixturevalue("bench_set")  # the run and build only once the networks are there
    manifest = json.loads((bench / "bench.json").read_text())
    got = {}
    for kind in ("identity", "blur2", "shuffle", "shift"):
        _variant(bench, manifest, tmp_path / kind, kind)
        report = evaluate(
            bench, tmp_path / kind, tmp_path / f"e_{kind}", ["fid", "fvd", "sync"], networks=nets
        )
        got[kind] = {**report["subgroups"][0]["values"], "offsets": [c["av_offset"] for c in report["clips"]]}
    assert got["identity"]["fid"] < got["blur2"]["fid"] and got["identity"]["fvd"] < got["shuffle"]["fvd"]
    assert got["shift"]["offsets"] == [o - SHIFT for o in got["identity"]["offsets"]]
