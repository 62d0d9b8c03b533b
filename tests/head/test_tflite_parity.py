"""The PyTorch BlazeFace / Face Mesh equal the same .tflite run by the TFLite interpreter (ai-edge-litert).

Measured on this CPU (real frames of four test clips): detector raw outputs max |diff| ~5e-5 input px,
scores ~1e-6; landmarks max |diff| ~1e-4 crop px (~3e-4 frame px), presence ~1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.head._tflite_reader import read_tflite
from talkvid_fast.head.blazeface import load_blazeface
from talkvid_fast.head.crop import BORDER_REPLICATE, BORDER_ZERO, face_roi, letterbox_roi, warp
from talkvid_fast.head.facemesh import MESH_INPUT, load_facemesh
from talkvid_fast.head.weights import DETECTOR_FULL, DETECTOR_SHORT, LANDMARKS

litert = pytest.importorskip("ai_edge_litert.interpreter")


def _interp(path: Path, x: np.ndarray) -> list[np.ndarray]:
    outs = []
    for xi in x:  # the tflite models have a fixed batch of 1
        it = litert.Interpreter(model_path=str(path))
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], xi[None])
        it.invoke()
        outs.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


def _letterboxed(frames: list[np.ndarray], size: int) -> np.ndarray:
    xs = []
    for fr in frames:
        n, h, w, _ = fr.shape
        m = torch.from_numpy(np.repeat(letterbox_roi(h, w).matrix(size)[None], n, 0)).float()
        xs.append(
            warp(torch.from_numpy(fr), torch.arange(n), m, size, size, 2 / 255, -1, BORDER_ZERO).numpy()
        )
    return np.concatenate(xs)


def test_reader_constants_equal_interpreter(facemesh_dir: Path) -> None:
    """Folded weights (fp16 dequantized, sparse densified) equal the interpreter's own tensors."""
    path = facemesh_dir / DETECTOR_FULL
    g = read_tflite(path)
    it = litert.Interpreter(
        model_path=str(path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 192, 192, 3), np.float32))
    it.invoke()
    checked = 0
    for t in g.tensors:
        if t.data is not None and t.data.dtype == np.float32 and t.data.size > 1:
            np.testing.assert_array_equal(t.data, it.get_tensor(t.index), err_msg=t.name)
            checked += 1
    assert checked > 100  # conv weights + biases, many of them densified from the sparse format


@pytest.mark.parametrize("kind,file", [("full_range", DETECTOR_FULL), ("short_range", DETECTOR_SHORT)])
def test_blazeface_matches_tflite(
    facemesh_dir: Path, real_frames: list[np.ndarray], kind: str, file: str
) -> None:
    model = load_blazeface(facemesh_dir / file, kind)
    x = _letterboxed(real_frames, model.cfg.input_size)
    raw_ref, logit_ref = _interp(facemesh_dir / file, x)
    with torch.no_grad():
        raw, _ = model.forward_raw(torch.from_numpy(x))
        dets, scores = model(torch.from_numpy(x))
    score_ref = 1 / (1 + np.exp(-np.clip(logit_ref[..., 0], -100, 100)))
    assert np.abs(raw.numpy() - raw_ref).max() < 0.02  # input pixels (boxes and keypoints, before decoding)
    assert np.abs(scores.numpy() - score_ref).max() < 1e-4
    # the detector really finds the faces: every frame of these clips has a confident detection
    assert (scores.numpy().max(1) >= model.cfg.min_score).all()
    top = scores.numpy().argmax(1)
    ref_xc = raw_ref[np.arange(len(x)), top, 0] / model.cfg.input_size + model.anchors.numpy()[top, 0]
    got_xc = (dets.numpy()[np.arange(len(x)), top, 0] + dets.numpy()[np.arange(len(x)), top, 2]) / 2
    assert np.abs(ref_xc - got_xc).max() < 1e-5


def test_facemesh_matches_tflite(facemesh_dir: Path, real_frames: list[np.ndarray]) -> None:
    det = load_blazeface(facemesh_dir / DETECTOR_FULL, "full_range")
    mesh = load_facemesh(facemesh_dir / LANDMARKS)
    crops, sides = [], []
    for fr in real_frames:
        n, h, w, _ = fr.shape
        lb = letterbox_roi(h, w)
        x = _letterboxed([fr], 192)
        with torch.no_grad():
            dets, scores = det(torch.from_numpy(x))
        for i in range(n):
            d = dets[i, scores[i].argmax()].numpy().astype(np.float64)
            d = np.where(np.arange(16) % 2 == 0, lb.cx + (d - 0.5) * lb.side, lb.cy + (d - 0.5) * lb.side)
            roi = face_roi(d, h, w)
            m = torch.from_numpy(roi.matrix(MESH_INPUT)[None]).float()
            crops.append(
                warp(torch.from_numpy(fr), torch.tensor([i]), m, 192, 192, 1 / 255, 0, BORDER_REPLICATE)
            )
            sides.append(roi.side)
    xt = torch.cat(crops)
    lm_ref, pres_ref = _interp(facemesh_dir / LANDMARKS, xt.numpy())
    with torch.no_grad():
        lm, pres = mesh(xt)
    err_crop = np.abs(lm.numpy() - lm_ref.reshape(-1, 468, 3))[..., :2].max(axis=(1, 2))
    err_px = err_crop * np.array(sides) / MESH_INPUT
    assert err_px.max() < 0.01  # frame pixels
    assert np.abs(pres.numpy() - 1 / (1 + np.exp(-pres_ref.reshape(-1)))).max() < 1e-4
    assert (pres.numpy() > 0.9).all()  # real faces: the model is sure
