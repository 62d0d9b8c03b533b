"""Stage 2b: the motion filter (spec.md), `paper` stability ratio or `official` CoTracker ratio.

Note [Motion backends]: `cotracker` runs CoTracker3 (our module, official weights); `klt` runs the
weight-free Lucas-Kanade tracker (OpenCV, klt.py, on a CPU stage; our Numba CUDA kernels, klt_cuda.py, on
the frames in GPU memory on a CUDA stage) and can only compute the `paper` ratio; `auto` takes cotracker
when its weights are in the cache, else klt. Every record names the tracker that produced it
(`StageResult.backend`: "klt" or "cotracker3-<model>-<engine>", the engine being e.g. "torch-cpu-fp32" or
"tensorrt-10.3.0-fp16", Note [Stage engines]; what actually ran the clip's windows or segments, e.g.
"tensorrt-10.3.0-fp16+torch-cuda-fp16" with `fallback_calls` when a short window fell back to torch), so a
klt ratio is never taken for CoTracker's. Missing weights with backend = cotracker (or method = official)
raise StageUnavailable with the fetch command.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..clips import Clip
from ..engines import EngineUse, ModelEngine, load_specs, open_model_engine
from ..stages._api import FrameRequest, StageResult, StageUnavailable, Views
from ..weights import WeightsMissing, locate, sha256_of
from . import klt as _klt
from . import ratio_kernels, sampling
from ._params import MotionParams
from .cotracker import CoTrackerThreeBase, load
from .ratio_reference import PaperParams, camera_motion, paper_clip_score, region_ratios
from .weights import CHECKPOINTS, COTRACKER

VIEW = "motion"


def _contiguous(a: Any) -> Any:
    return a.contiguous() if isinstance(a, torch.Tensor) else np.ascontiguousarray(a)


class MotionStage:
    """Scores camera/subject stability per clip (see Note [Motion backends], Note [Paper windows])."""

    name: ClassVar[str] = "motion"

    def __init__(self, params: dict[str, Any], device: str = "cpu") -> None:
        self.params = MotionParams.from_dict(params)
        self.device = torch.device(device)
        self.backend = ""  #: resolved by setup(): "klt" or "cotracker"
        self.model: CoTrackerThreeBase | None = None
        self.model_id = ""
        self.weights_tag = ""  #: the ONNX/engine weights tag (`engines build --weights`)
        self.engines: dict[str, ModelEngine] = {}
        self._graphs: set[str] = set()  #: engine graph names of the specs
        # Note [Scene buffer]: official segments read the source's fps, known only when the scan ends
        self.whole_source = self.params.method == "official"

    @classmethod
    def with_model(
        cls, params: dict[str, Any], model: CoTrackerThreeBase, device: str = "cpu"
    ) -> MotionStage:
        """A cotracker stage around a given module (tests and benchmarks: random weights, labelled "random")."""
        stage = cls({**params, "backend": "cotracker"}, device)
        stage.model = model.to(stage.device).eval()
        stage.model.iters = stage.params.iters
        stage.backend, stage.model_id, stage.weights_tag = "cotracker", "random", "random"
        stage._engine(stage._graph_name())
        return stage

    # ---- contract -------------------------------------------------------------------------------------
    def setup(self) -> None:
        if self.backend:
            return
        p = self.params
        kind = "offline" if p.method == "official" else p.model
        if p.backend == "klt":
            self._use_klt()
            return
        if p.tracks_border:  # backend auto with CoTracker's weights present
            raise StageUnavailable(
                "[motion] camera_points = 'border' and ratio_points = 'either' are tracked by klt only",
                "set backend = 'klt'",
            )
        try:
            path = locate(COTRACKER, CHECKPOINTS[kind])
        except WeightsMissing:
            if p.backend == "auto" and p.method == "paper":
                self._use_klt()
                return
            raise
        try:
            self.model = load(kind, str(path)).to(self.device)
            self.model.iters = p.iters
        except (RuntimeError, ValueError) as exc:
            raise StageUnavailable(f"cannot load {path}: {exc}", "delete it and fetch it again") from exc
        self.backend, self.model_id = "cotracker", f"{path.name}:{sha256_of(path)[:12]}"
        self.weights_tag = path.stem
        self._engine(self._graph_name())  # the asked-for runtime must exist before the run starts

    def _graph_name(self, frames: int | None = None) -> str:
        """The engine graph of a paper window, or of an official segment of `frames` frames (the base
        segment graph when no variant has that length: its engine falls back to torch for it)."""
        if self.params.method == "paper":
            return "cotracker3_paper" if self.params.model == "online" else "cotracker3_paper_offline"
        name = f"cotracker3_official_t{frames or 12}"
        if not self._graphs:  # read the specs once, not per segment
            self._graphs = {g.name for s in load_specs().values() for g in s.graphs}
        return name if name in self._graphs else "cotracker3_official_t12"

    def _engine(self, graph: str) -> ModelEngine:
        if graph not in self.engines:
            assert self.model is not None
            p = self.params
            self.engines[graph] = open_model_engine(
                graph, self.model, self.device, p.precision, p.runtime, weights_tag=self.weights_tag
            )
        return self.engines[graph]

    def _use_klt(self) -> None:
        # the record says `klt` either way; `model` names the implementation (Note [KLT on CUDA])
        self.backend = "klt"
        self.model_id = "lk-numba-cuda" if self.device.type == "cuda" else "lk-opencv"

    @property
    def label(self) -> str:
        return self._label(None)

    def _label(self, use: EngineUse | None) -> str:
        """The record's tracker name; `use`: what ran this clip's model calls (None: the picked engine)."""
        if self.backend == "klt":
            return "klt"
        kind = "offline" if self.params.method == "official" else self.params.model
        engine = next(iter(self.engines.values()), None)
        picked = engine.name if engine else "torch-" + self.device.type
        return f"cotracker3-{kind}-{use.label(picked) if use else picked}"

    def requests(self, clip: Clip) -> list[FrameRequest]:
        p = self.params
        h, w = clip.source.height, clip.source.width
        if p.method == "official":
            plan = sampling.plan_segments(clip.num_frames, clip.official_fps, clip.official_duration)
            size = (max(4, int(h * p.scale)), max(4, int(w * p.scale)))
            return [FrameRequest(VIEW, plan.indices, size, antialias=True)]
        indices = sampling.resample_indices(clip, p.fps)
        return [FrameRequest(VIEW, indices, sampling.scaled_size(h, w, p.short_side))]

    def process(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]:
        if not self.backend:
            raise RuntimeError("MotionStage.setup() was not called")
        if self.params.method == "official":
            return [self._official(clip, views) for clip, views in batch]
        return self._paper(batch)

    # ---- paper ----------------------------------------------------------------------------------------
    def _paper(self, batch: list[tuple[Clip, Views]]) -> list[StageResult]:
        p = self.params
        results: list[StageResult | None] = [None] * len(batch)
        tracked: dict[int, tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor, int, int]] = {}
        uses: dict[int, EngineUse] = {}
        jobs: list[tuple[int, torch.Tensor, sampling.WindowPlan]] = []
        for i, (clip, views) in enumerate(batch):
            try:
                frames = views[VIEW]  # uint8 (F, H, W, 3)
                plan = sampling.plan_windows(clip, p.fps, p.window, p.stride)
                if frames.shape[0] != len(plan.indices):
                    raise ValueError(f"expected {len(plan.indices)} frames, got {frames.shape[0]}")
                if self.backend == "klt":
                    tracked[i] = (*self._track_klt(frames, plan), frames.shape[1], frames.shape[2])
                else:
                    jobs.append((i, frames, plan))
            except Exception as exc:  # one bad clip must not stop the batch
                results[i] = StageResult(
                    error=f"{type(exc).__name__}: {exc}", backend=self.label, model=self.model_id
                )
        if jobs:
            tracked.update(self._track_cotracker(jobs, uses))
        gate = PaperParams(p.min_conf, p.max_disp, p.gate_min, p.gate_max)
        for i, (tracks, conf, h, w) in tracked.items():
            border, k = None, p.grid * p.grid
            # Note [Ratio points]: the central grid, or the better of it and the background
            ratios, ratio_on, region_means = region_ratios(
                tracks, conf, k, h, w, p.ratio_points, p.min_conf, p.max_disp, self._window_ratios
            )
            if p.tracks_border:  # klt tracked the ratio's grid, then the border points
                border = (_contiguous(tracks[:, :, k:]), _contiguous(conf[:, :, k:]))
                tracks, conf = _contiguous(tracks[:, :, :k]), _contiguous(conf[:, :, :k])
            score = paper_clip_score(ratios, gate)
            ratio, ok_ratio = float(score["ratio"]), bool(score["passed"])
            speed, motion = self._camera_motion(tracks, conf)
            read_on = "centre"
            if border is not None and p.camera_points == "border":  # Note [Camera motion]: the background
                border_speed, _ = self._camera_motion(*border)
                if not np.isnan(border_speed):  # a background with no trackable point: the centre's
                    speed, read_on = border_speed, "border"
            gates = {"stability_ratio": ok_ratio}
            if p.max_camera_speed > 0:  # Note [Camera motion]
                gates["camera_speed"] = speed <= p.max_camera_speed  # NaN (nothing tracked) fails
            if p.min_motion > 0:
                gates["motion"] = motion >= p.min_motion
            failed = next((g for g, v in gates.items() if not v), None)
            verdict = {
                None: "ok",
                "stability_ratio": "frozen" if ratio > p.gate_max else "unstable",
                "camera_speed": "camera_motion",
                "motion": "frozen",
            }[failed]
            use = uses.get(i)
            label = self._label(use)
            scores: dict[str, Any] = {
                "stability_ratio": ratio,
                "stability_ratio_min": float(score["ratio_min"]),
                "stability_windows": len(ratios),
                "stability_verdict": verdict,
                "camera_speed": None if np.isnan(speed) else speed,
                "camera_speed_points": read_on,
                "motion": motion,
                "tracker": label,
            }
            if p.ratio_points != "centre":  # (profiles on the paper's grid keep their records as they were)
                scores["stability_ratio_points"] = ratio_on
                scores.update({f"stability_ratio_{r}": v for r, v in region_means.items()})
            results[i] = StageResult(
                scores=scores,
                gates=gates,
                passed=failed is None,
                failed_gate=failed,
                backend=label,
                model=self.model_id,
                fallback_calls=use.fallback_calls if use else 0,
            )
        return [r if r is not None else StageResult(error="not scored", backend=self.label) for r in results]

    def _track_klt(self, frames: torch.Tensor, plan: sampling.WindowPlan) -> tuple[Any, Any]:
        """OpenCV on the host for a CPU stage; the Numba CUDA kernels on the frames in place for a CUDA one."""
        p = self.params
        pts = sampling.paper_grid(frames.shape[1], frames.shape[2], p.crop, p.grid)
        if p.tracks_border:
            ring = sampling.border_grid(
                frames.shape[1], frames.shape[2], p.crop, p.grid, p.klt_win_size // 2 + 1
            )
            pts = np.concatenate([pts, ring])
        kp = p.klt()
        if self.device.type == "cuda":
            from . import klt_cuda

            return klt_cuda.track_windows_cuda(frames, plan.starts, plan.length, pts, kp)
        gray = _klt.to_gray(frames.cpu().numpy())
        return _klt.track_windows(gray, plan.starts, plan.length, pts, kp)

    @torch.inference_mode()
    def _track_cotracker(
        self, jobs: list[tuple[int, torch.Tensor, sampling.WindowPlan]], uses: dict[int, EngineUse]
    ) -> dict[int, tuple[torch.Tensor, torch.Tensor, int, int]]:
        """Windows of every clip through the model, `batch_windows` at a time (frames resized once per clip);
        `uses[i]` gets what ran clip i's windows (a call shared by several clips counts for each)."""
        assert self.model is not None
        p = self.params
        mh, mw = p.model_size
        windows: list[tuple[int, int, torch.Tensor, torch.Tensor]] = []  # (job, window, video, queries)
        out: dict[int, list[Any]] = {}
        for j, (_, frames, plan) in enumerate(jobs):
            h, w = frames.shape[1], frames.shape[2]
            video = frames.permute(0, 3, 1, 2).float()
            video = F.interpolate(video, (mh, mw), mode="bilinear", align_corners=True)
            pts = torch.from_numpy(sampling.paper_grid(h, w, p.crop, p.grid)).to(video.device)
            pts = pts * torch.tensor([(mw - 1) / (w - 1), (mh - 1) / (h - 1)], device=video.device)
            queries = torch.cat([torch.zeros_like(pts[:, :1]), pts], dim=1)
            out[j] = [None] * len(plan.starts)
            for k, s in enumerate(plan.starts.tolist()):
                windows.append((j, k, video[s : s + plan.length], queries))
        by_len: dict[int, list[tuple[int, int, torch.Tensor, torch.Tensor]]] = {}
        for win in windows:
            by_len.setdefault(win[2].shape[0], []).append(win)
        engine = self._engine(self._graph_name())
        for group in by_len.values():
            for a in range(0, len(group), p.batch_windows):
                chunk = group[a : a + p.batch_windows]
                coords, _, conf = engine(
                    torch.stack([c[2] for c in chunk]), torch.stack([c[3] for c in chunk])
                )
                for j in {c[0] for c in chunk}:
                    uses.setdefault(jobs[j][0], EngineUse()).add(engine)
                for (j, k, _, _), xy, cf in zip(chunk, coords, conf, strict=True):
                    out[j][k] = (xy, cf)
        result = {}
        for j, (i, frames, _) in enumerate(jobs):
            h, w = frames.shape[1], frames.shape[2]
            back = torch.tensor([(w - 1) / (mw - 1), (h - 1) / (mh - 1)], device=frames.device)
            tracks = torch.stack([xy for xy, _ in out[j]]) * back
            conf = torch.stack([cf for _, cf in out[j]])
            result[i] = (tracks.float().contiguous(), conf.float().contiguous(), h, w)
        return result

    def _camera_motion(self, tracks: Any, conf: Any) -> tuple[float, float]:
        if isinstance(tracks, torch.Tensor):
            return ratio_kernels.camera_motion_torch(tracks, conf, self.params.min_conf)
        return camera_motion(tracks, conf, self.params.min_conf)

    def _window_ratios(
        self, tracks: Any, conf: Any, h: int, w: int, min_conf: float, max_disp: float
    ) -> np.ndarray:
        """Note [Paper ratio] where the tracks lie: the Numba CUDA kernel for CUDA tensors, else Numba CPU."""
        tracks, conf = _contiguous(tracks), _contiguous(conf)
        if isinstance(tracks, torch.Tensor) and tracks.is_cuda:
            return ratio_kernels.paper_window_ratios_cuda(tracks, conf, h, w, min_conf, max_disp)
        if isinstance(tracks, torch.Tensor):
            tracks, conf = tracks.numpy(), conf.numpy()
        return ratio_kernels.paper_window_ratios_cpu(tracks, conf, h, w, min_conf, max_disp)

    # ---- official -------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _official(self, clip: Clip, views: Views) -> StageResult:
        assert self.model is not None
        p = self.params
        try:
            plan = sampling.plan_segments(clip.num_frames, clip.official_fps, clip.official_duration)
            frames = views[VIEW]  # uint8 (F, h, w, 3)
            if frames.shape[0] != len(plan.indices):
                raise ValueError(f"expected {len(plan.indices)} frames, got {frames.shape[0]}")
            grid = torch.from_numpy(sampling.official_grid(p.official_grid, p.model_size)).to(frames.device)
            queries = torch.cat([torch.zeros_like(grid[:, :1]), grid], dim=1)[None]
            vis_rows, bounds = [], [0]
            use = EngineUse()
            for a, b in zip(plan.bounds[:-1].tolist(), plan.bounds[1:].tolist(), strict=True):
                if b <= a:
                    continue  # an empty segment (clip shorter than the segment layout) is skipped, as upstream
                video = frames[a:b].permute(0, 3, 1, 2).float()
                video = F.interpolate(video, p.model_size, mode="bilinear", align_corners=True)[None]
                engine = self._engine(self._graph_name(b - a))
                _, vis, _ = engine(video, queries)
                use.add(engine)
                vis_rows.append(vis[0].float())
                bounds.append(bounds[-1] + (b - a))
            if not vis_rows:
                raise ValueError("no frames in any segment")
            vis_all = torch.cat(vis_rows).contiguous()
            if vis_all.is_cuda:
                ratios = ratio_kernels.official_segment_ratios_cuda(
                    vis_all, np.array(bounds), p.vis_threshold
                )
            else:
                ratios = ratio_kernels.official_segment_ratios_cpu(
                    vis_all.numpy(), np.array(bounds), p.vis_threshold
                )
        except Exception as exc:
            return StageResult(error=f"{type(exc).__name__}: {exc}", backend=self.label, model=self.model_id)
        label = self._label(use)
        return StageResult(
            scores={
                "cotracker_ratio": float(ratios.min()),
                "cotracker_segments": len(ratios),
                "tracker": label,
            },
            gates={},
            passed=True,
            backend=label,
            model=self.model_id,
            fallback_calls=use.fallback_calls,
        )
