"""A throughput model: a GPU's (or CPU's) end-to-end RTF predicted from per-component rates.

Note [Throughput model]: every component (decode, stage 1's detector, each model, each kernel, export's
encoder) is measured alone as a rate in seconds of video per second on one unit of the resource it occupies
(an NVDEC engine, the SMs, the host CPU, an encoder thread): NVDEC frames/s per engine / the video's fps,
a model's clips/s at its batch size x seconds per clip, and so on. It sees a fraction of the input video
(the funnel: stage 1 sees all of it, the filters what passed stage 1, export what passed every gate). Per
second of input video, resource r is then busy

    load_r = sum over its components c of fraction_c / (rate_c x units_c)

seconds. When the stages overlap (decode, models and export running at once, each on its own resource), the
busiest resource bounds the pipeline: RTF = 1 / max_r load_r, and that resource is named. When they take
turns (one source at a time through decode, then models, then export), the loads add: RTF = 1 / sum_r
load_r. The measured end-to-end RTF should fall between the two; below the serial figure is a design fault
(work the model does not know about), near the overlapped one is the design working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Component:
    """One piece of work, measured alone."""

    name: str
    resource: str  #: what it occupies: "nvdec", "gpu", "cpu", "encoder", ...
    rate: float  #: seconds of video per second on one unit of the resource (its RTF alone)
    fraction: float = 1.0  #: fraction of the input video it sees (the funnel)
    units: int = 1  #: units of the resource it can use at once (NVDEC engines, encoder threads)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.units < 1 or not 0 <= self.fraction <= 1:
            raise ValueError(
                f"{self.name}: need rate > 0, units >= 1, 0 <= fraction <= 1; "
                f"got rate={self.rate}, units={self.units}, fraction={self.fraction}"
            )

    @property
    def load(self) -> float:
        """Seconds of its resource busy per second of input video."""
        return self.fraction / (self.rate * self.units)


def from_fps(
    name: str, resource: str, fps_per_unit: float, video_fps: float, units: int = 1, fraction: float = 1.0
) -> Component:
    """A frame-rate component (a decoder, a per-frame kernel, an encoder): frames/s / the video's fps."""
    return Component(name, resource, fps_per_unit / video_fps, fraction, units)


def from_clips(
    name: str, resource: str, clips_per_s: float, clip_seconds: float, fraction: float = 1.0, units: int = 1
) -> Component:
    """A per-clip model at its batch size: clips/s x seconds of video per clip."""
    return Component(name, resource, clips_per_s * clip_seconds, fraction, units)


@dataclass
class Prediction:
    loads: dict[str, float]  #: resource -> seconds busy per second of input video
    components: list[Component] = field(default_factory=list)

    @property
    def bound(self) -> str:
        """The resource that bounds the overlapped pipeline."""
        return max(self.loads, key=lambda r: self.loads[r])

    @property
    def rtf_overlapped(self) -> float:
        return 1.0 / max(self.loads.values())

    @property
    def rtf_serial(self) -> float:
        return 1.0 / sum(self.loads.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "rtf_overlapped": round(self.rtf_overlapped, 4),
            "rtf_serial": round(self.rtf_serial, 4),
            "bound": self.bound,
            "loads": {r: round(v, 6) for r, v in self.loads.items()},
            "components": [{**c.__dict__, "load": round(c.load, 6)} for c in self.components],
        }


def predict(components: Iterable[Component]) -> Prediction:
    """Note [Throughput model]: loads per resource, then the overlapped and serial RTF."""
    comps = list(components)
    if not comps:
        raise ValueError("predict() needs at least one component")
    loads: dict[str, float] = {}
    for c in comps:
        loads[c.resource] = loads.get(c.resource, 0.0) + c.load
    return Prediction(loads, comps)


def render(pred: Prediction, measured: float | None = None, device: str = "") -> str:
    """A markdown table: each component's rate and load, the prediction and (if given) the measured RTF."""
    lines = [
        f"Throughput model{' on ' + device if device else ''} (Note [Throughput model])",
        "",
        "| component | resource | RTF alone | units | fraction | load (s per video s) |",
        "|---|---|---|---|---|---|",
    ]
    for c in pred.components:
        lines.append(
            f"| {c.name} | {c.resource} | {c.rate:.3f} | {c.units} | {c.fraction:.3f} | {c.load:.4f} |"
        )
    lines += [
        "",
        f"predicted RTF, stages overlapped: {pred.rtf_overlapped:.3f} (bound by {pred.bound})",
        f"predicted RTF, stages taking turns: {pred.rtf_serial:.3f}",
    ]
    if measured is not None:
        lines.append(
            f"measured end-to-end RTF: {measured:.3f} "
            f"({measured / pred.rtf_overlapped:.0%} of overlapped, {measured / pred.rtf_serial:.0%} of serial)"
        )
    return "\n".join(lines)
