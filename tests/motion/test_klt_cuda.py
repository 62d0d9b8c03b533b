"""The CUDA `klt` tracker (Numba kernels, under the CUDA simulator) against OpenCV and known answers.

Tolerances (Note [KLT on CUDA]: same algorithm, float64 sums instead of OpenCV's float32):
- luma, pyrDown levels and Scharr derivatives: exactly OpenCV's;
- a known sub-pixel shift: every tracked point within 0.05 px of the truth (measured: <= 0.026 px; the
  texture is shifted with bilinear interpolation, so the truth itself is good to ~0.02 px);
- positions of points both backends track: within 0.02 px of OpenCV's (2x the LK stop step, 0.01 px;
  an iteration may stop one step earlier or later);
- window ratios of the known-answer clips: within 1/9 (one point of nine) of OpenCV's and the same verdict
  (measured: equal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from talkvid_fast.motion import klt, klt_cuda, ratio_reference, sampling
from talkvid_fast.motion.stage import MotionStage

from . import klt_cuda_sim as sim
from . import synthetic
from .helpers import deliver, make_clip

REPO = Path(__file__).resolve().parents[2]


def _cuda_home() -> str | None:
    """A CUDA toolkit with libNVVM (for the PTX compile check), or None."""
    homes = [os.environ.get("CUDA_HOME", ""), *sorted(map(str, Path("/usr/local").glob("cuda*")))]
    for home in filter(None, homes):
        if list(Path(home).glob("lib*/libnvvm.so*")) or list(Path(home).glob("nvvm/lib*/libnvvm.so*")):
            return home
    return None


@pytest.fixture(scope="module")
def simulated() -> dict[str, Any]:
    """The simulator runs and the PTX compile, side by side (about 30 s of wall time on 2 cores)."""
    script = str(Path(sim.__file__))
    sim_env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    envs = {"subpixel": sim_env, "known": sim_env}
    home = _cuda_home()
    if home is not None:
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
        envs["ptx"] = {**env, "CUDA_HOME": home}
    procs = {
        mode: subprocess.Popen(
            [sys.executable, script, str(REPO), mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode, env in envs.items()
    }
    out = {}
    for mode, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{mode}: {stderr[-3000:]}"
        out[mode] = json.loads(stdout.strip().splitlines()[-1])
    return out


def test_kernels_compile_for_the_gpu(simulated: dict[str, Any]) -> None:
    if "ptx" not in simulated:
        pytest.skip("no CUDA toolkit with libNVVM (CUDA_HOME) to compile PTX")
    assert set(simulated["ptx"]) == {"gray", "pyrdown", "scharr", "track"}
    assert all(lines > 100 for lines in simulated["ptx"].values())


def test_pyramid_layout_is_opencvs() -> None:
    for h, w, win, levels in ((512, 640, 31, 3), (64, 64, 9, 1), (64, 64, 31, 3), (100, 70, 15, 4)):
        img = np.zeros((h, w), np.uint8)
        top, _ = cv2.buildOpticalFlowPyramid(img, (win, win), levels, withDerivatives=False)
        lay = klt_cuda.pyramid_layout(h, w, win, levels)
        assert len(lay.heights) - 1 == top, (h, w, win, levels)


def test_pyramid_and_derivatives_equal_opencv(simulated: dict[str, Any]) -> None:
    got = simulated["subpixel"]
    base = synthetic.texture(sim.SIZE, sim.SIZE)
    frames = np.stack([base, synthetic.shifted(base, *sim.SHIFT)])
    (h0, h1), (w0, w1), (_, off1) = got["layout"]
    pyr = np.array(got["pyr"], np.uint8)
    deriv = np.array(got["deriv"], np.int16)
    for f, rgb in enumerate(frames):
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        np.testing.assert_array_equal(pyr[f, :off1].reshape(h0, w0), gray)
        down = cv2.pyrDown(gray)
        np.testing.assert_array_equal(pyr[f, off1:].reshape(h1, w1), down)
        for img, a, b in ((gray, 0, off1), (down, off1, None)):
            d = deriv[f, a:b].reshape((*img.shape, 2))
            np.testing.assert_array_equal(d[..., 0], cv2.Scharr(img, cv2.CV_16S, 1, 0))
            np.testing.assert_array_equal(d[..., 1], cv2.Scharr(img, cv2.CV_16S, 0, 1))
    (_, oh1), (_, ow1), (_, ooff1) = got["layout_odd"]
    odd = cv2.cvtColor(synthetic.texture(37, 45, seed=5), cv2.COLOR_RGB2GRAY)
    pyr_o = np.array(got["pyr_odd"], np.uint8)
    np.testing.assert_array_equal(pyr_o[0, ooff1:].reshape(oh1, ow1), cv2.pyrDown(odd))


def test_subpixel_shift_is_recovered(simulated: dict[str, Any]) -> None:
    got = simulated["subpixel"]
    moved = np.array(got["moved"])
    assert got["conf"] == [1.0] * 9
    np.testing.assert_allclose(moved, np.broadcast_to(sim.SHIFT, moved.shape), atol=0.05)
    base = synthetic.texture(sim.SIZE, sim.SIZE)
    gray = klt.to_gray(np.stack([base, synthetic.shifted(base, *sim.SHIFT)]))
    pts = sampling.paper_grid(sim.SIZE, sim.SIZE, 36, 3)
    tracks, _ = klt.track_windows(gray, np.array([0]), 2, pts, klt.KltParams(**sim.PARAMS))
    np.testing.assert_allclose(moved, tracks[0, 1] - tracks[0, 0], atol=0.02)


def test_known_answers_agree_with_opencv(simulated: dict[str, Any]) -> None:
    got = simulated["known"]
    kp = klt.KltParams(**sim.PARAMS)
    pts = sampling.paper_grid(sim.SIZE, sim.SIZE, sim.CLIP["crop"], sim.CLIP["grid"])
    starts = np.arange(0, sim.CLIP["n"] - sim.CLIP["length"] + 1, sim.CLIP["stride"])
    verdicts = {}
    for name, frames in sim.clips().items():
        tracks, conf = klt.track_windows(klt.to_gray(frames), starts, sim.CLIP["length"], pts, kp)
        ref = ratio_reference.paper_window_ratios(tracks, conf, sim.SIZE, sim.SIZE)
        gpu = np.array(got[name]["ratios"])
        np.testing.assert_allclose(gpu, ref, atol=1 / 9 + 1e-9)
        both = (np.array(got[name]["conf"]) == 1) & (conf == 1)
        err = np.abs(np.array(got[name]["tracks"]) - tracks)[both]
        assert err.size == 0 or err.max() <= 0.02, (name, err.max())
        s_gpu, s_ref = ratio_reference.paper_clip_score(gpu), ratio_reference.paper_clip_score(ref)
        assert s_gpu["passed"] == s_ref["passed"]
        verdicts[name] = (s_gpu["ratio"], s_gpu["passed"])
    assert verdicts["still"][0] > 0.999 and not verdicts["still"][1]  # frozen
    assert verdicts["drift"][1]  # accepted
    assert verdicts["jitter"][0] < 0.1 and not verdicts["jitter"][1]  # rejected


def test_cuda_stage_selects_the_cuda_tracker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake(frames: Any, starts: np.ndarray, length: int, points: np.ndarray, params: klt.KltParams):
        calls.append((frames, starts, length, points, params))
        n = len(starts)
        return np.zeros((n, length, len(points), 2), np.float32), np.ones(
            (n, length, len(points)), np.float32
        )

    monkeypatch.setattr(klt_cuda, "track_windows_cuda", fake)
    stage = MotionStage({"backend": "klt", "klt_win_size": 21, "klt_max_level": 2})
    stage.device = torch.device("cuda")  # selection only: the fake runs on the host
    stage.setup()
    assert stage.label == "klt" and stage.model_id == "lk-numba-cuda"
    frames = synthetic.still(20)
    clip = make_clip(frames, fps=25.0)
    (req,) = stage.requests(clip)
    (res,) = stage.process([(clip, {req.name: deliver(frames, req)})])
    assert res.error is None and res.backend == "klt" and res.model == "lk-numba-cuda"
    ((frames_arg, _, length, points, params),) = calls
    assert isinstance(frames_arg, torch.Tensor) and length == 16 and len(points) == 256
    assert (params.win_size, params.max_level, params.max_fb_error) == (21, 2, 1.0)
    cpu = MotionStage({"backend": "klt"})
    cpu.setup()
    assert cpu.model_id == "lk-opencv"
