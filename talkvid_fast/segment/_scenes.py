"""Scene detection with PySceneDetect's own detectors, fed from our single decode (Note [Decode passes]).

Note [Scene parity]: frames reach the detector exactly as scenedetect 0.6.4's SceneManager would pass them:
BGR, coded orientation, downscaled by the integer factor `width // 256` with cv2.INTER_LINEAR to
(round(w / f), round(h / f)) (`small_size`; the decoders take that size as given), numbered like
scenedetect's PyAV backend (round(time * guessed fps), so `min_scene_len` counts nominal frame periods on
VFR sources too), `post_process(last_number)` at the end, cuts made unique and sorted. The detector sees all
N decoded frames, as with scenedetect's OpenCV backend (the official default); its PyAV backend loses the
last frame on some sources. tests/decode/test_scan_convert.py compares the frames (size and bytes) with the
ones scenedetect hands a detector. Cuts are then mapped back to decoded frame indices: scenes are
[cut_i, cut_i+1) in decoded frames, the last ending after the last decoded frame. Unlike the official pipeline
(`start_in_scene=False`), a source without cuts is one scene. tests/segment compares the cut lists with
scenedetect's `SceneManager.detect_scenes` on the same videos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
import torch

SCENEDETECT_DETECTORS = ("histogram", "content", "adaptive", "threshold", "hash")
#: every stage-1 detector: scenedetect's, and TransNetV2 (talkvid_fast/shots, Note [TransNetV2 frames])
DETECTORS = (*SCENEDETECT_DETECTORS, "transnetv2")
DEFAULT_MIN_WIDTH = 256  # scenedetect's auto-downscale target width
_PLACEHOLDER = np.zeros(
    (1, 1, 3), np.uint8
)  # process_frame checks dtype and channels, then asks for the feature


def downscale_factor(width: int) -> int:
    """scenedetect 0.6.4's `compute_downscale_factor`: the integer factor width // 256 (1 below 256 px)."""
    return 1 if width < DEFAULT_MIN_WIDTH else width // DEFAULT_MIN_WIDTH


def small_size(width: int, height: int) -> tuple[int, int]:
    """(w, h) of the frames the detector sees."""
    f = downscale_factor(width)
    return (width, height) if f == 1 else (round(width / f), round(height / f))


def make_detector(kind: str, params: dict[str, Any]) -> Any:
    """Builds a scenedetect detector by name with the profile's parameters."""
    from scenedetect import detectors

    classes = {
        "histogram": detectors.HistogramDetector,
        "content": detectors.ContentDetector,
        "adaptive": detectors.AdaptiveDetector,
        "threshold": detectors.ThresholdDetector,
        "hash": detectors.HashDetector,
    }
    if kind not in classes:
        raise ValueError(f"unknown scene detector {kind!r}; allowed: {', '.join(SCENEDETECT_DETECTORS)}")
    try:
        return classes[kind](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for the {kind} detector: {params} ({exc})") from exc


@dataclass
class SceneCollector:
    """The pass-1 consumer: runs one detector over every (small BGR) frame and collects its cuts."""

    kind: str
    params: dict[str, Any]
    cuts: list[int] = field(default_factory=list)  #: cut positions in scenedetect's frame numbers
    numbers: list[int] = field(default_factory=list)  #: frame number of each decoded frame

    def __post_init__(self) -> None:
        self._detector = make_detector(self.kind, self.params)

    def __call__(self, index: int, number: int, small_bgr: np.ndarray) -> None:
        self.cuts += self._detector.process_frame(number, small_bgr)
        self.numbers.append(number)

    @property
    def takes_histograms(self) -> bool:
        """Whether per-frame luma histograms can replace the small frames (Note [Device scan]): the
        histogram detector at its 256 bins."""
        return self.kind == "histogram" and int(self.params.get("bins", 256)) == 256

    def add_histogram(self, index: int, number: int, hist: np.ndarray) -> None:
        """The detector's step for a frame whose feature (float32 (256,), L2-normalised) was computed
        elsewhere: scenedetect's own process_frame runs with its calculate_histogram answered by `hist`."""
        if not self.takes_histograms:
            raise ValueError(f"the {self.kind} detector takes frames, not histograms")
        self._detector.calculate_histogram = lambda *_a, **_k: hist
        self.cuts += self._detector.process_frame(number, _PLACEHOLDER)
        self.numbers.append(number)

    def scenes(self) -> list[tuple[int, int]]:
        """[start_frame, end_frame) in decoded frames for every scene; the whole video when there is no cut."""
        if not self.numbers:
            return []
        cut_numbers = sorted(set(self.cuts + list(self._detector.post_process(self.numbers[-1]))))
        first = np.searchsorted(np.asarray(self.numbers), cut_numbers, side="left")
        n = len(self.numbers)
        cuts = sorted({int(c) for c in first if 0 < c < n})
        bounds = [0, *cuts, n]
        return [(a, b) for a, b in pairwise(bounds) if b > a]


class Collector(Protocol):
    """A pass-1 scan consumer that ends with the source's scenes, [start, end) in decoded frames."""

    def __call__(self, index: int, number: int, small_bgr: np.ndarray) -> None: ...

    def scenes(self) -> list[tuple[int, int]]: ...


def make_collector(
    kind: str, params: dict[str, Any], device: torch.device | None = None, rotation: int = 0
) -> Collector:
    """The scan consumer of detector `kind`; `device` and `rotation` (the decoder's) matter to transnetv2."""
    if kind == "transnetv2":
        from ..shots import TransNetCollector, TransNetParams

        dev = device if device is not None else torch.device("cpu")
        return TransNetCollector(TransNetParams.parse(params), dev, rotation)
    if kind not in SCENEDETECT_DETECTORS:
        raise ValueError(f"unknown scene detector {kind!r}; allowed: {', '.join(DETECTORS)}")
    return SceneCollector(kind, params)
