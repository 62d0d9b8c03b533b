"""Weight set `light_asd`: Light-ASD's released state dicts (MIT), from the authors' repository at a pinned commit.

`python -m talkvid_fast.weights fetch light_asd` downloads both files and checks their sha256 (the
hashes of the copies in `../shared/weights/light_asd/`, see its README). They are plain state dicts
(tensors saved on CUDA), read with `torch.load(weights_only=True, map_location="cpu")`.
"""

from __future__ import annotations

from ..weights import WeightFile, WeightSet, register

COMMIT = "ed38c232de5efe0261dbd68627c0ade7cdfe14eb"
_RAW = f"https://github.com/Junhua-Liao/Light-ASD/raw/{COMMIT}/weight"

TALKSET = "finetuning_TalkSet.model"  #: fine-tuned on TalkSet (Columbia ASD F1 95.5 %): the default
AVA = "pretrain_AVA_CVPR.model"  #: trained on AVA-ActiveSpeaker (val mAP 94.06 %)

LIGHT_ASD = register(
    WeightSet(
        name="light_asd",
        files=(
            WeightFile(
                TALKSET,
                url=f"{_RAW}/{TALKSET}",
                sha256="efc375833887eefa9d209dc92810e18519b04c3c73ea35a549f2a7f40b7d94d5",
                size=4175289,
            ),
            WeightFile(
                AVA,
                url=f"{_RAW}/{AVA}",
                sha256="d44bc3ea7baa8e0946fa3921311714a630ed8b90a1928fab0dbe30d918909317",
                size=4175289,
            ),
        ),
        license="MIT (Junhua-Liao/Light-ASD)",
        description=f"Light-ASD active-speaker detection (CVPR 2023), Junhua-Liao/Light-ASD@{COMMIT[:12]}",
    )
)
