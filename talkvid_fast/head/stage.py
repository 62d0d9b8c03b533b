"""Stage 3 of the spec: the head-detail filter (see Note [Stage contract] in stages/_api.py).

Note [Head sampling]: `sampling = "official"` reproduces TalkVid's reader (video_head_filter.py): `fps_i =
int(fps)` with fps the container's average rate (`Clip.official_fps`, Note [Official clock]),
`duration = frames / fps_i`, one frame at `sec * fps_i` for `sec in range(int(duration))` (it drifts
on 29.97 fps and gives no frame for a clip under a second). `sampling = "exact"` (paper) takes the
frame shown at each time `start + k / sample_fps` (the last frame whose presentation time is <= t),
k = 0 .. floor(duration * sample_fps) - 1, at least one frame; VFR-exact through `clip.frame_times`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..clips import Clip
from ..engines import RUNTIMES, pick_device
from ..stages._api import FrameRequest, StageResult, Views
from . import crop_quality
from .scores_reference import GATES, ClipFaces, head_scores, scores_dict, verdict

BACKENDS = ("facemesh", "insightface")
PRECISIONS = ("fp32", "fp16", "bf16")
SAMPLINGS = ("exact", "official")
VIEW = "head"


def sample_indices(clip: Clip, sampling: str, sample_fps: float = 1.0) -> np.ndarray:
    """int64 frame indices relative to the clip's first frame (Note [Head sampling])."""
    n = clip.num_frames
    if n <= 0:
        return np.zeros(0, np.int64)
    if sampling == "official":
        fps_i = int(clip.official_fps)
        if fps_i < 1:
            return np.zeros(0, np.int64)
        duration = n / fps_i
        idx = np.arange(int(duration), dtype=np.int64) * fps_i
        return idx[idx < n]
    if sampling == "exact":
        if sample_fps <= 0:
            raise ValueError(f"sample_fps must be > 0, got {sample_fps}")
        count = max(1, math.floor(clip.duration * sample_fps + 1e-9))
        times = clip.start + np.arange(count) / sample_fps
        idx = np.searchsorted(np.asarray(clip.frame_times), times + 1e-6, side="right") - 1
        return np.clip(idx, 0, n - 1).astype(np.int64)
    raise ValueError(f"sampling {sampling!r}; allowed: {', '.join(SAMPLINGS)}")


class HeadStage:
    """Head-detail filter. params = the profile's [head] section (every key documented there)."""

    name: ClassVar[str] = "head"

    def __init__(self, params: dict[str, Any], device: str = "cpu") -> None:
        self.params = dict(params)
        self.backend_name = str(self.params.get("backend", "facemesh"))
        if self.backend_name not in BACKENDS:
            raise ValueError(f"head backend {self.backend_name!r}; allowed: {', '.join(BACKENDS)}")
        self.sampling = str(self.params.get("sampling", "exact"))
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"head sampling {self.sampling!r}; allowed: {', '.join(SAMPLINGS)}")
        self.sample_fps = float(self.params.get("sample_fps", 1.0))
        # Note [Scene buffer]: official sampling reads the source's fps, known only when the scan ends
        self.whole_source = self.sampling == "official"
        gate_names = {g for g, _, _ in GATES}
        self.thresholds = {k: float(v) for k, v in dict(self.params.get("thresholds", {})).items()}
        self.crop_quality = crop_quality.CropQualityParams.from_dict(
            dict(self.params.get("crop_quality", {}))
        )
        unknown = set(self.thresholds) - gate_names
        if unknown:
            raise ValueError(
                f"unknown [head.thresholds] keys {sorted(unknown)}; allowed: {', '.join(sorted(gate_names))}"
            )
        self.device = pick_device(device)
        for key, allowed in (("precision", PRECISIONS), ("runtime", RUNTIMES)):
            value = self.params.get(key, allowed[0])
            if value not in allowed:
                raise ValueError(f"head {key} {value!r}; allowed: {', '.join(allowed)}")
        if self.device.type == "cpu" and self.params.get("precision", "fp32") != "fp32":
            raise ValueError("head precision fp16/bf16 needs CUDA; use precision = 'fp32' on the CPU")
        self.backend: Any = None

    def setup(self) -> None:
        """Loads the face models; raises StageUnavailable (WeightsMissing) when their files are absent."""
        p = self.params
        if self.backend_name == "facemesh":
            from ._facemesh_backend import FaceMeshBackend

            self.backend = FaceMeshBackend(
                self.device,
                detector=str(p.get("detector", "full_range")),
                min_score=p.get("min_detection_score"),
                nms_iou=float(p.get("nms_iou", 0.3)),
                min_presence=float(p.get("min_presence", 0.5)),
                batch_size=int(p.get("batch_size", 64)),
                precision=str(p.get("precision", "fp32")),
                runtime=str(p.get("runtime", "auto")),
            )
        else:
            from .insightface_backend import InsightFaceBackend

            self.backend = InsightFaceBackend(
                self.device,
                det_size=int(p.get("det_size", 640)),
                det_thresh=float(p.get("det_thresh", 0.5)),
            )

    def requests(self, clip: Clip) -> list[FrameRequest]:
        return [FrameRequest(VIEW, sample_indices(clip, self.sampling, self.sample_fps))]

    def process(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]:
        if self.backend is None:
            raise RuntimeError("HeadStage.setup() must be called before process()")
        frames = [views[VIEW] for _, views in batch]
        try:
            faces = self.backend.analyze(frames)
        except Exception as exc:  # a failing batch is retried clip by clip so one bad clip fails alone
            if len(batch) == 1:
                return [
                    StageResult(
                        error=f"{type(exc).__name__}: {exc}",
                        backend=self.backend.name,
                        model=self.backend.model,
                    )
                ]
            return [r for item in batch for r in self.process([item])]
        clip_faces = [self._clip_faces(clip, view, f) for (clip, view), f in zip(batch, faces, strict=True)]
        table = self._scores(clip_faces)
        crop_values = self._crop_quality(batch, faces)
        results = []
        for k, (cf, s) in enumerate(zip(clip_faces, table, strict=True)):
            gates, passed, failed = verdict(s, self.thresholds)
            scores: dict[str, Any] = dict(scores_dict(s))
            scores["num_sampled"] = len(cf.face_counts)
            scores["face_counts"] = [int(c) for c in cf.face_counts]
            if crop_values is not None:  # Note [Face-crop quality]: gated after the head gates
                vals = crop_values[k]
                scores.update({f"crop_{m}": (None if math.isnan(v) else v) for m, v in vals.items()})
                crop_gates = crop_quality.gates(vals, self.crop_quality)
                gates.update(crop_gates)
                if passed and not all(crop_gates.values()):
                    passed, failed = False, next(g for g, ok in crop_gates.items() if not ok)
            use = getattr(self.backend, "last_use", None)  # facemesh's engines (insightface: ONNX only)
            results.append(
                StageResult(
                    scores=scores,
                    gates=gates,
                    passed=passed,
                    failed_gate=failed,
                    backend=getattr(self.backend, "last_name", self.backend.name),
                    model=self.backend.model,
                    fallback_calls=use.fallback_calls if use else 0,
                )
            )
        return results

    def _crop_quality(
        self, batch: list[tuple[Clip, Views]], faces: list[list[Any]]
    ) -> list[dict[str, float]] | None:
        """Per clip: the median face-crop metrics over its single-face frames (Note [Face-crop quality])."""
        p = self.crop_quality
        if not p.enabled:
            return None
        from . import crop_quality_kernels as kern

        out = []
        for (_, views), clip_faces in zip(batch, faces, strict=True):
            frames = views[VIEW]
            index = np.array([i for i, f in enumerate(clip_faces) if f.count == 1], np.int64)
            boxes = np.array([clip_faces[i].box[0] for i in index], np.float64).reshape(-1, 4)
            crops = crop_quality.luma_crops(frames, index, boxes, p.size, p.scale)
            if frames.is_cuda:
                metrics = kern.crop_metrics_cuda(crops)
                block = kern.blockiness_cuda(frames, index, boxes)
            else:
                metrics = kern.crop_metrics_cpu(crops.numpy())
                block = kern.blockiness_cpu(frames.numpy(), index, boxes)
            out.append(crop_quality.clip_values(np.column_stack([metrics, block])))
        return out

    def _scores(self, clip_faces: list[ClipFaces]) -> np.ndarray:
        """(C, 17) scores: the Numba kernel of the stage's device (`scores = "numba"`) or the reference."""
        impl = str(self.params.get("scores", "numba"))
        if impl not in ("numba", "reference"):
            raise ValueError(f"head scores {impl!r}; allowed: numba, reference")
        if impl == "numba":
            from .scores_kernels import head_scores_cpu, head_scores_cuda

            return head_scores_cuda(clip_faces) if self.device.type == "cuda" else head_scores_cpu(clip_faces)
        return np.stack([head_scores(c) for c in clip_faces]) if clip_faces else np.zeros((0, 17))

    @staticmethod
    def _clip_faces(clip: Clip, frames: Views, faces: list[Any]) -> ClipFaces:
        view = frames[VIEW]
        h, w = (
            (int(view.shape[1]), int(view.shape[2]))
            if view.dim() == 4
            else (clip.source.height, clip.source.width)
        )
        single = [f for f in faces if f.count == 1]
        return ClipFaces(
            width=w,
            height=h,
            face_counts=np.array([f.count for f in faces], np.int64),
            kps=np.array([f.kps[0] for f in single]).reshape(-1, 5, 2),
            pose=np.array([f.pose[0] for f in single]).reshape(-1, 3),
            box=np.array([f.box[0] for f in single]).reshape(-1, 4),
        )
