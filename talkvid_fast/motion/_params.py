"""The [motion] profile section, validated (every key is documented in talkvid_fast/profiles/*.toml)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .klt import KltParams

METHODS = ("paper", "official")
BACKENDS = ("klt", "cotracker", "auto")
MODELS = ("offline", "online")
PRECISIONS = ("fp32", "fp16", "bf16")
RUNTIMES = ("auto", "tensorrt", "torch", "onnxruntime")
VALIDITIES = (
    "step",
    "drift",
)  # Note [KLT validity] (klt.py)  # Note [Stage engines] (engines/_model_engine.py)
CAMERA_POINTS = ("centre", "border")  # Note [Camera motion] (ratio_reference.py)
RATIO_POINTS = ("centre", "either")  # Note [Ratio points] (ratio_reference.py)


@dataclass(frozen=True)
class MotionParams:
    method: str = "paper"  #: paper (windows, gate) | official (segments, min visibility, no gate)
    backend: str = "auto"  #: klt | cotracker | auto (cotracker when its weights are present, else klt)
    model: str = "online"  #: CoTracker3 checkpoint: offline (window 60) | online (window 16)
    model_size: tuple[int, int] = (384, 512)  #: (H, W) frames are resized to for CoTracker (predictor's)
    iters: int = 6  #: CoTracker refinement iterations
    batch_windows: int = 8  #: windows (paper) per model call, across clips
    precision: str = "fp32"  #: fp32 | fp16 | bf16 (CUDA only)
    runtime: str = "auto"  #: auto | tensorrt | torch | onnxruntime: CoTracker's engine (Note [Stage engines])
    # paper
    fps: float = 25.0
    short_side: int = 512
    window: int = 16
    stride: int = 8
    crop: int = 256
    grid: int = 16
    min_conf: float = 0.5
    max_disp: float = 20.0
    gate_min: float = 0.85
    gate_max: float = 0.999
    # klt
    klt_win_size: int = 31
    klt_max_level: int = 3
    klt_max_fb_error: float = 1.0
    klt_min_eig: float = 1e-6
    klt_validity: str = (
        "step"  #: step (spec: fb <= klt_max_fb_error every step) | drift (Note [KLT validity])
    )
    klt_max_drift: float = 12.0  #: validity "drift": accumulated fb error / 2 limit, px
    # camera motion and stillness from the tracks, any tracker (Note [Camera motion]); 0 = gate off
    max_camera_speed: float = 0.0  #: gate: median global motion <= this, px per frame
    min_motion: float = 0.0  #: gate: the liveliest window's 95th-percentile point motion >= this, px
    camera_points: str = (
        "centre"  #: camera_speed from: centre (the ratio's grid) | border (klt; Note [Camera motion])
    )
    ratio_points: str = (
        "centre"  #: stability ratio on: centre (the paper's grid) | either (klt; Note [Ratio points])
    )
    # official
    scale: float = 0.25
    official_grid: int = 100
    vis_threshold: float = 0.9

    def klt(self) -> KltParams:
        """The klt tracker's parameters from this section (the stage and the calibration bench share it)."""
        return KltParams(
            win_size=self.klt_win_size,
            max_level=self.klt_max_level,
            max_fb_error=self.klt_max_fb_error,
            min_eig_threshold=self.klt_min_eig,
            validity=self.klt_validity,
            max_drift=self.klt_max_drift,
        )

    @property
    def tracks_border(self) -> bool:
        """klt also tracks the border lattice (`sampling.border_grid`) after the central grid."""
        return self.camera_points == "border" or self.ratio_points == "either"

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> MotionParams:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"[motion] unknown keys {unknown}; allowed: {', '.join(sorted(names))}")
        kw = dict(params)
        if "model_size" in kw:
            kw["model_size"] = tuple(int(v) for v in kw["model_size"])
        p = cls(**kw)
        checks = (
            ("method", METHODS),
            ("backend", BACKENDS),
            ("model", MODELS),
            ("precision", PRECISIONS),
            ("runtime", RUNTIMES),
            ("klt_validity", VALIDITIES),
            ("camera_points", CAMERA_POINTS),
            ("ratio_points", RATIO_POINTS),
        )
        for key, allowed in checks:
            if getattr(p, key) not in allowed:
                raise ValueError(f"[motion] {key} = {getattr(p, key)!r}; allowed: {', '.join(allowed)}")
        if p.method == "official" and p.backend == "klt":
            raise ValueError(
                "[motion] the official ratio needs CoTracker visibilities; backend must be cotracker"
            )
        if p.camera_points == "border" and p.backend == "cotracker":
            raise ValueError("[motion] camera_points = 'border' is tracked by klt only; use backend = 'klt'")
        if p.ratio_points == "either" and p.backend == "cotracker":
            raise ValueError("[motion] ratio_points = 'either' is tracked by klt only; use backend = 'klt'")
        if len(p.model_size) != 2 or any(v % 4 for v in p.model_size):
            raise ValueError(f"[motion] model_size must be (H, W) divisible by 4, got {p.model_size}")
        if p.crop > p.short_side:
            raise ValueError(f"[motion] crop {p.crop} must fit inside short_side {p.short_side}")
        return p
