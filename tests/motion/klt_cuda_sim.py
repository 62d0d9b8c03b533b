"""Runs the CUDA `klt` tracker under the Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1 set by the caller,
before numba is imported) and prints its results as JSON; test_klt_cuda.py compares them with OpenCV.

The simulator executes every CUDA thread in Python, so the inputs are tiny: 64x64 frames, 9 points,
a 9 px window and 2 pyramid levels (max_level 1), windows of 8 frames with stride 4.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

SIZE = 64
PARAMS: dict[str, Any] = {"win_size": 9, "max_level": 1}
SHIFT = (0.37, -0.21)  # px, the sub-pixel known answer
CLIP = {"n": 12, "length": 8, "stride": 4, "crop": 48, "grid": 3, "patch": 12}


def subpixel() -> dict[str, object]:
    from talkvid_fast.motion import klt, klt_cuda, sampling
    from tests.motion import synthetic

    base = synthetic.texture(SIZE, SIZE)
    frames = np.stack([base, synthetic.shifted(base, *SHIFT)])
    kp = klt.KltParams(**PARAMS)
    pts = sampling.paper_grid(SIZE, SIZE, 36, 3)
    tracks, conf = klt_cuda.track_windows_cuda(frames, np.array([0]), 2, pts, kp)
    lay, pyr, deriv = klt_cuda.build_pyramids(frames, kp)
    odd = np.stack([synthetic.texture(37, 45, seed=5)])  # odd sizes: pyrDown's right/bottom border
    lay_o, pyr_o, _ = klt_cuda.build_pyramids(odd, kp)
    return {
        "moved": (tracks[0, 1] - tracks[0, 0]).tolist(),
        "conf": conf[0, 1].tolist(),
        "layout": [lay.heights, lay.widths, lay.offsets],
        "pyr": pyr.copy_to_host().tolist(),
        "deriv": deriv.copy_to_host().tolist(),
        "layout_odd": [lay_o.heights, lay_o.widths, lay_o.offsets],
        "pyr_odd": pyr_o.copy_to_host().tolist(),
    }


def known_answers() -> dict[str, object]:
    from talkvid_fast.motion import klt, klt_cuda, ratio_reference, sampling

    kp = klt.KltParams(**PARAMS)
    pts = sampling.paper_grid(SIZE, SIZE, CLIP["crop"], CLIP["grid"])
    starts = np.arange(0, CLIP["n"] - CLIP["length"] + 1, CLIP["stride"])
    out: dict[str, object] = {}
    for name, frames in clips().items():
        tracks, conf = klt_cuda.track_windows_cuda(frames, starts, CLIP["length"], pts, kp)
        out[name] = {
            "ratios": ratio_reference.paper_window_ratios(tracks, conf, SIZE, SIZE).tolist(),
            "tracks": tracks.tolist(),
            "conf": conf.tolist(),
        }
    return out


def clips() -> dict[str, np.ndarray]:
    from tests.motion import synthetic

    n = CLIP["n"]
    return {
        "still": synthetic.still(n, SIZE, SIZE),
        "drift": synthetic.drift(n, SIZE, SIZE, speed=0.4, patch=CLIP["patch"]),
        "jitter": synthetic.jitter(n, SIZE, SIZE, amplitude=30.0),
    }


def ptx() -> dict[str, object]:
    """Compiles every kernel for the real CUDA target (sm_90 PTX, NVVM, no GPU needed): the simulator does
    not type-check Numba CUDA code. Run without NUMBA_ENABLE_CUDASIM; needs CUDA_HOME with libNVVM."""
    import types

    import numba.cuda.dispatcher as dispatcher
    from numba import cuda
    from numba import types as T

    from talkvid_fast.motion import _klt_cuda as K

    # device functions ask the current device for its compute capability; there is none here
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
    u8_2, i16_3, i64_1 = T.Array(T.uint8, 2, "C"), T.Array(T.int16, 3, "C"), T.Array(T.int64, 1, "C")
    i64, f4, f3 = T.int64, T.Array(T.float32, 4, "C"), T.Array(T.float32, 3, "C")
    track_sig = (u8_2, i16_3, i64_1, i64_1, i64_1, i64, i64_1, i64, i64, f4, f3, i64, i64, T.float64)
    kernels = {
        "gray": (K.gray_kernel, (T.Array(T.uint8, 4, "C"), u8_2)),
        "pyrdown": (K.pyrdown_kernel, (u8_2, i64, i64, i64, i64, i64, i64)),
        "scharr": (K.scharr_kernel, (u8_2, i16_3, i64, i64, i64)),
        "track": (K.track_step_kernel, (*track_sig, T.float32)),
    }
    out: dict[str, object] = {}
    for name, (kernel, sig) in kernels.items():
        code, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
        out[name] = code.count("\n")
    return out


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    mode = sys.argv[2]
    run = {"subpixel": subpixel, "known": known_answers, "ptx": ptx}[mode]
    print(json.dumps(run()))
