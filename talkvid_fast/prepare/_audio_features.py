"""Audio features for the trainers: wav2vec2-base-960h hidden states, as TalkVid's `extract_audio_emb.py`.

Their recipe: the clip's audio at 16 kHz, channels averaged, normalised by Wav2Vec2's feature extractor
(zero mean, unit variance over the clip), ONE forward pass over the whole clip, `last_hidden_state`
saved as `global_embeds` (T, 1, 768), about 50 rows a second. We run the same on the WAV we write (so the
features and the WAV are the same samples) and save `global_embeds` in a .npz (no pickle).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..stages._api import StageUnavailable
from ..weights import locate, set_dir
from .weights import WAV2VEC2, WAV2VEC2_FILES

SAMPLE_RATE = 16_000


class AudioFeatures:
    """wav2vec2 on one device; `__call__(int16 samples) -> (T, 1, hidden) float32`."""

    name = "wav2vec2_base_960h"

    def __init__(self, model: Any, extractor: Any, device: torch.device) -> None:
        self.model = model.to(device).eval()
        self.extractor = extractor
        self.device = device

    @classmethod
    def load(cls, device: torch.device) -> AudioFeatures:
        """The user's fetched weights; raises StageUnavailable (with the fix) when transformers or the
        weights are absent, or the weights do not fill the encoder."""
        try:
            from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model
        except ImportError as exc:
            raise StageUnavailable(
                "transformers is not installed", "pip install 'talkvid_fast[train]'"
            ) from exc
        for name in WAV2VEC2_FILES:
            locate(WAV2VEC2, name)  # WeightsMissing: "fetch with python -m talkvid_fast.weights fetch ..."
        folder = str(set_dir(WAV2VEC2.name))
        loaded: Any = Wav2Vec2Model.from_pretrained(folder, use_safetensors=True, output_loading_info=True)
        model, info = loaded
        if info.get("missing_keys"):
            raise StageUnavailable(
                f"{folder}/model.safetensors lacks encoder weights {sorted(info['missing_keys'])[:5]}",
                f"delete it and run `python -m talkvid_fast.weights fetch {WAV2VEC2.name}`",
            )
        return cls(model, Wav2Vec2FeatureExtractor.from_pretrained(folder), device)

    @torch.inference_mode()
    def __call__(self, samples: np.ndarray) -> np.ndarray:
        wave = np.asarray(samples, np.float32) / 32768.0
        values = self.extractor(wave, sampling_rate=SAMPLE_RATE, return_tensors="pt")["input_values"]
        hidden = self.model(values.to(self.device)).last_hidden_state  # (1, T, d)
        return hidden.permute(1, 0, 2).float().cpu().numpy()  # (T, 1, d), as their `global_embeds`
