"""The `open` profile: loads, every section builds its stage, and it uses no non-commercial weights."""

from __future__ import annotations

import pytest

from talkvid_fast.head.crop_quality import CropQualityParams
from talkvid_fast.head.stage import HeadStage
from talkvid_fast.motion._params import MotionParams
from talkvid_fast.profile import BUILTIN, load_profile
from talkvid_fast.quality.stage import QualityStage
from talkvid_fast.stages import StageUnavailable


def test_open_is_builtin_and_paper_stays_default() -> None:
    assert BUILTIN[0] == "paper" and "open" in BUILTIN
    from talkvid_fast.run import build_parser

    args = build_parser().parse_args(["--input", "x", "--output", "y"])
    assert args.profile == "paper"


def test_open_uses_only_permissive_models() -> None:
    p = load_profile("open")
    assert p.name == "open"
    motion = MotionParams.from_dict(p.section("motion"))
    assert motion.backend == "klt" and motion.klt_validity == "drift"  # not CoTracker3 (CC BY-NC 4.0)
    assert motion.camera_points == "border" and motion.ratio_points == "either"  # docs/motion.md
    assert p.section("head")["backend"] == "facemesh"  # not InsightFace (non-commercial)
    assert CropQualityParams.from_dict(p.section("head")["crop_quality"]).enabled
    HeadStage(p.section("head"))  # every key valid
    quality = QualityStage(p.section("quality"))
    with pytest.raises(StageUnavailable, match="DOVER is off"):  # DOVER (S-Lab licence) never loads
        quality.setup()
    # the annotation guideline's 10 % face area: resolution = 30 * 100 * area
    assert p.section("head")["thresholds"]["resolution_avg"] == 30 * 10


def test_open_speech_and_cuts_use_permissive_weights() -> None:
    """Stage 1 of `open`: TransNetV2 (MIT) and Silero VAD (MIT), both weight sets declared with an MIT licence;
    the speaker gate hears speech with the same detector; no SyncNet unless a user turns it on."""
    from talkvid_fast.segment import SegmentParams
    from talkvid_fast.speaker.stage import SpeakerStage
    from talkvid_fast.weights import get

    p = load_profile("open")
    seg = SegmentParams.from_profile(p.section("segment"))
    assert seg.detector == "transnetv2" and seg.vad.method == "silero"
    speaker = SpeakerStage(p.section("speaker"))
    assert speaker.vad == seg.vad and speaker.params["sync"] == "off"
    for name in ("transnetv2", "silero_vad", "light_asd", "facemesh"):
        assert get(name).license.startswith(("MIT", "Apache-2.0")), name
