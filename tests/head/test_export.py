"""ONNX export of the facemesh models: ONNX Runtime equals PyTorch (dynamic batch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from talkvid_fast.engines import OrtEngine
from talkvid_fast.head.blazeface import load_blazeface
from talkvid_fast.head.export import export_detector, export_landmarks
from talkvid_fast.head.facemesh import load_facemesh
from talkvid_fast.head.weights import DETECTOR_FULL, LANDMARKS


def test_onnx_matches_torch(facemesh_dir: Path, real_frames: list[np.ndarray], tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(-1, 1, (3, 192, 192, 3)).astype(np.float32))
    det = load_blazeface(facemesh_dir / DETECTOR_FULL)
    d_ref, s_ref = det(x)
    d_ort, s_ort = OrtEngine(export_detector(tmp_path), threads=2)(x)
    assert np.abs(d_ort - d_ref.detach().numpy()).max() < 1e-4  # normalised coordinates
    assert np.abs(s_ort - s_ref.detach().numpy()).max() < 1e-5
    crops = torch.from_numpy(
        np.stack([f[0, 100:292, 100:292] for f in real_frames[:3]]).astype(np.float32) / 255
    )
    mesh = load_facemesh(facemesh_dir / LANDMARKS)
    lm_ref, p_ref = mesh(crops)
    lm_ort, p_ort = OrtEngine(export_landmarks(tmp_path), threads=2)(crops)
    assert np.abs(lm_ort - lm_ref.detach().numpy()).max() < 2e-3  # crop pixels
    assert np.abs(p_ort - p_ref.detach().numpy()).max() < 1e-5
