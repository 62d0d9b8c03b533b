"""Stage 2a: DOVER quality (see Note [Stage contract] in stages/_api.py and docs/quality.md)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..clips import Clip
from ..engines import RUNTIMES, ModelEngine, open_model_engine, pick_device
from ..stages._api import FrameRequest, StageResult, StageUnavailable, Views
from ..weights import locate, sha256_of
from .model import DoverConfig, build_dover
from .sampling import (
    AES_SEGMENTS,
    SIZE,
    TECH_CLIPS,
    FragmentMosaics,
    aesthetic_view,
    make_plan,
    mosaic_view,
)
from .scores import clip_scores
from .weights import DOVER as DOVER_SET
from .weights import DOVER_FILES

TECH_VIEW = "dover_technical"
AES_VIEW = "dover_aesthetic"

DEFAULTS: dict[str, Any] = {
    "weights": "DOVER.pth",  # DOVER.pth | DOVER_plus_plus.pth | random (tests and benchmarks only) | none
    "architecture": "dover",  # dover | tiny (a shrunken copy, only with weights = "random")
    "threshold": 7.0,  # gate: TalkVid DOVER score >= threshold
    "batch_clips": 2,  # videos per forward (each is 3 technical + 1 aesthetic 32x224x224 clips)
    "precision": "fp32",  # fp32 | fp16 | bf16 (reduced precision on CUDA only)
    "runtime": "auto",  # auto | tensorrt | torch | onnxruntime (Note [Stage engines])
}


class QualityStage:
    """DOVER technical + aesthetic scores, the fused score and the TalkVid DOVER score, gated on the latter.

    params (the profile's [quality] section; every key optional): see DEFAULTS. Without the weight file
    `setup()` raises WeightsMissing (a StageUnavailable) with the fetch command; no score is invented."""

    name: ClassVar[str] = "quality"

    def __init__(self, params: dict[str, Any], device: str = "cpu") -> None:
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"[quality]: unknown keys {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}")
        self.params = {**DEFAULTS, **params}
        p = self.params
        if p["weights"] not in (*DOVER_FILES, "random", "none"):
            raise ValueError(
                f"[quality] weights {p['weights']!r}; allowed: {', '.join(DOVER_FILES)}, random, none"
            )
        if p["architecture"] not in ("dover", "tiny"):
            raise ValueError(f"[quality] architecture {p['architecture']!r}; allowed: dover, tiny")
        if p["architecture"] == "tiny" and p["weights"] != "random":
            raise ValueError(
                "[quality] architecture 'tiny' exists only for tests: use it with weights = 'random'"
            )
        if int(p["batch_clips"]) < 1:
            raise ValueError(f"[quality] batch_clips must be >= 1, got {p['batch_clips']}")
        self.device = pick_device(device)
        precision = str(p["precision"])
        if precision not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"[quality] precision {precision!r}; allowed: fp32, fp16, bf16")
        if self.device.type == "cpu" and precision != "fp32":
            raise ValueError("[quality] reduced precision needs CUDA; use precision = 'fp32' on the CPU")
        if p["runtime"] not in RUNTIMES:
            raise ValueError(f"[quality] runtime {p['runtime']!r}; allowed: {', '.join(RUNTIMES)}")
        self.engine: ModelEngine | None = None
        self.backend = ""
        self.model_name = ""

    def setup(self) -> None:
        p = self.params
        if p["weights"] == "none":  # profile `open`: DOVER's weights are non-commercial; recorded as not run
            raise StageUnavailable(
                "DOVER is off in this profile ([quality] weights = 'none')",
                "[head.crop_quality] gates the face crop instead; set weights = 'DOVER.pth' to run DOVER",
            )
        config = DoverConfig.tiny() if p["architecture"] == "tiny" else DoverConfig()
        if p["weights"] == "random":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = build_dover(None, config)
            self.model_name = "random" if p["architecture"] == "dover" else "random-tiny"
            tag = "random" if p["architecture"] == "dover" else "tiny"  # the `engines build --weights` tags
        else:
            path = locate(DOVER_SET, p["weights"])  # raises WeightsMissing with the fetch command
            model = build_dover(path, config)
            self.model_name = f"{p['weights']}:{sha256_of(path)[:12]}"
            tag = path.stem
        self.engine = open_model_engine(
            "dover", model, self.device, str(p["precision"]), str(p["runtime"]), weights_tag=tag
        )
        self.backend = f"dover-{self.engine.name}"

    whole_source = False  #: requests read only the clip and the frame size (Note [Scene buffer])

    def requests(self, clip: Clip) -> list[FrameRequest]:
        """96 technical frames as their fragment mosaics, gathered from the native pixels as each frame is
        converted (Note [Fragment mosaics]), and 32 aesthetic frames resized to 224x224 with antialiasing
        (torchvision Resize semantics)."""
        plan = make_plan(clip.clip_id, clip.num_frames, clip.source.height, clip.source.width)
        return [
            FrameRequest(TECH_VIEW, plan.tech_indices, (SIZE, SIZE), transform=FragmentMosaics(plan)),
            FrameRequest(AES_VIEW, plan.aes_indices, (SIZE, SIZE), True),
        ]

    def process(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]:
        if self.engine is None:
            raise RuntimeError("QualityStage.process() before setup()")
        results: list[StageResult | None] = [None] * len(batch)
        ready: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        for k, (_, views) in enumerate(batch):
            try:
                tech = mosaic_view(views[TECH_VIEW].to(self.device))
                aes = aesthetic_view(views[AES_VIEW].to(self.device))
                ready.append((k, tech, aes))
            except (KeyError, ValueError, RuntimeError) as exc:
                results[k] = self._error(f"{type(exc).__name__}: {exc}")
        step = int(self.params["batch_clips"])
        for start in range(0, len(ready), step):
            chunk = ready[start : start + step]
            try:
                t_raw, a_raw = self._forward(
                    torch.cat([c[1] for c in chunk]), torch.cat([c[2] for c in chunk])
                )
            except RuntimeError as exc:  # e.g. out of memory: recorded on these clips, the run goes on
                for k, _, _ in chunk:
                    results[k] = self._error(f"RuntimeError: {exc}")
                continue
            # what ran this chunk: the picked engine or its torch fallback (Note [Stage engines])
            ran, fell_back = self.engine.last_ran, int(self.engine.last_ran != self.engine.name)
            for n, (k, _, _) in enumerate(chunk):
                technical = float(t_raw[n * TECH_CLIPS : (n + 1) * TECH_CLIPS].mean())
                results[k] = self._result(technical, float(a_raw[n]), f"dover-{ran}", fell_back)
        return [r if r is not None else self._error("not scored") for r in results]

    @torch.inference_mode()
    def _forward(self, tech: torch.Tensor, aes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tech: float32 (3B, 3, 32, 224, 224); aes: float32 (B, 3, 32, 224, 224) -> per-clip raw scores."""
        assert self.engine is not None
        t, a = self.engine(tech, aes)
        return t.float().cpu().double(), a.float().cpu().double()

    def _result(self, technical: float, aesthetic: float, backend: str, fallback_calls: int) -> StageResult:
        scores = clip_scores(technical, aesthetic)
        ok = scores["dover_score"] >= float(self.params["threshold"])
        return StageResult(
            scores=scores,
            gates={"dover_score": ok},
            passed=ok,
            failed_gate=None if ok else "dover_score",
            backend=backend,
            model=self.model_name,
            fallback_calls=fallback_calls,
        )

    def _error(self, message: str) -> StageResult:
        return StageResult(error=message, backend=self.backend, model=self.model_name)


__all__ = ["AES_SEGMENTS", "AES_VIEW", "TECH_VIEW", "QualityStage"]
