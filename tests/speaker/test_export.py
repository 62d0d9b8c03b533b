"""Light-ASD's ONNX graphs (engines/light_asd.toml) run by ONNX Runtime through the engine layer = torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from talkvid_fast.engines import open_model_engine
from talkvid_fast.engines.__main__ import main as engines_main
from talkvid_fast.speaker.model import load_light_asd
from talkvid_fast.stages._api import StageUnavailable


def test_onnxruntime_engine_matches_torch(
    speaker_home: Path, light_asd_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`engines build --models light_asd_1s --export-only`, then runtime = onnxruntime: scores within 1e-3
    of the torch module (fp32; scores are logits of magnitude ~1-10); a shorter window falls back to torch."""
    monkeypatch.setenv("TALKVID_FAST_ENGINES", str(tmp_path / "engines"))
    model = load_light_asd(speaker_home / "weights" / "light_asd" / "pretrain_AVA_CVPR.model")
    cpu = torch.device("cpu")
    with pytest.raises(StageUnavailable, match=r"--models light_asd_1s .*--export-only"):
        open_model_engine("light_asd_1s", model, cpu, "fp32", "onnxruntime", weights_tag="pretrain_AVA_CVPR")
    assert engines_main(["build", "--models", "light_asd_1s", "--export-only"]) == 0
    engine = open_model_engine(
        "light_asd_1s", model, cpu, "fp32", "onnxruntime", weights_tag="pretrain_AVA_CVPR"
    )
    assert engine.name == "onnxruntime-cpu"
    rng = np.random.default_rng(0)
    audio = torch.from_numpy(rng.normal(0, 8, (3, 100, 13)).astype(np.float32))
    video = torch.from_numpy(rng.uniform(0, 255, (3, 25, 112, 112)).astype(np.float32))
    with torch.inference_mode():
        expected = model(audio, video)
        (got,) = engine(audio, video)
        assert got.shape == (3, 25) and (got - expected).abs().max().item() <= 1e-3
        assert expected.abs().max().item() > 0.5
        (short,) = engine(audio[:1, :40], video[:1, :10])  # a clip's last, shorter window: the torch module
        assert engine.fallback_calls == 1 and torch.equal(short, model(audio[:1, :40], video[:1, :10]))
