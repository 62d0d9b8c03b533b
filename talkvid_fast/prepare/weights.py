"""The `wav2vec2_base_960h` weight set: facebook/wav2vec2-base-960h (Apache-2.0), the audio encoder of
TalkVid's V-Express preprocessing (`extract_audio_emb.py`), fetched from the Hugging Face Hub."""

from __future__ import annotations

from ..weights import WeightFile, WeightSet, register

_HUB = "https://huggingface.co/facebook/wav2vec2-base-960h/resolve/main"

WAV2VEC2_FILES = ("config.json", "preprocessor_config.json", "model.safetensors")

WAV2VEC2 = register(
    WeightSet(
        name="wav2vec2_base_960h",
        # sha256 unknown here (no network to hash the files); the load is strict (every weight of the
        # encoder must be in the file) and reads safetensors only.
        files=tuple(WeightFile(name, url=f"{_HUB}/{name}") for name in WAV2VEC2_FILES),
        license="Apache-2.0",
        description="wav2vec2-base-960h audio encoder (768-d hidden states, 50 per second) for audio features",
        notes=("needs `pip install talkvid_fast[train]` (transformers) to run",),
    )
)
