"""The `facemesh` backend: BlazeFace -> Face Mesh -> five keypoints, box and head pose per face.

Frames of several clips are processed together: every clip's frames are letterboxed by the warp op,
all detector inputs go through the detector in batches, then every face crop of every clip goes
through the landmark model in batches (see Note [Face warp] for the crops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..engines import EngineUse, ModelEngine, open_model_engine
from ..weights import locate, sha256_of
from .anchors import weighted_nms
from .blazeface import BlazeFace, detections_to_frame, load_blazeface
from .crop import BORDER_REPLICATE, BORDER_ZERO, Roi, face_roi, letterbox_roi, warp
from .facemesh import MESH_INPUT, FaceMesh, five_keypoints, load_facemesh
from .pose import head_pose
from .weights import DETECTOR_FULL, DETECTOR_SHORT, FACEMESH, LANDMARKS


@dataclass
class Faces:
    """Faces found in one frame (F faces), frame pixels."""

    box: np.ndarray  #: (F, 4) float64 xmin, ymin, xmax, ymax
    kps: np.ndarray  #: (F, 5, 2) float64 left eye, right eye (image order), nose, mouth left, mouth right
    pose: np.ndarray  #: (F, 3) float64 pitch, yaw, roll in degrees
    score: np.ndarray  #: (F,) detector score
    presence: np.ndarray  #: (F,) Face Mesh presence
    landmarks: np.ndarray  #: (F, 468, 3) float64

    @property
    def count(self) -> int:
        return len(self.box)


def _empty() -> Faces:
    z = np.zeros
    return Faces(z((0, 4)), z((0, 5, 2)), z((0, 3)), z(0), z(0), z((0, 468, 3)))


class FaceMeshBackend:
    """Loads the two models from the `facemesh` weight set (raises WeightsMissing when absent)."""

    def __init__(
        self,
        device: torch.device,
        detector: str = "full_range",
        min_score: float | None = None,
        nms_iou: float = 0.3,
        min_presence: float = 0.5,
        batch_size: int = 64,
        precision: str = "fp32",
        runtime: str = "auto",
    ) -> None:
        det_file = {"full_range": DETECTOR_FULL, "short_range": DETECTOR_SHORT}.get(detector)
        if det_file is None:
            raise ValueError(f"detector {detector!r}; allowed: full_range, short_range")
        det_path, mesh_path = locate(FACEMESH, det_file), locate(FACEMESH, LANDMARKS)
        self.device = device
        self.detector: BlazeFace = load_blazeface(det_path, detector).to(device)
        self.mesh: FaceMesh = load_facemesh(mesh_path).to(device)
        # Note [Stage engines]: TensorRT / ONNX Runtime / torch, by the [head] runtime setting
        self.detector_engine: ModelEngine = open_model_engine(
            f"blazeface_{detector}", self.detector, device, precision, runtime, weights_tag=det_path.stem
        )
        self.mesh_engine: ModelEngine = open_model_engine(
            "facemesh", self.mesh, device, precision, runtime, weights_tag=mesh_path.stem
        )
        self.min_score = self.detector.cfg.min_score if min_score is None else min_score
        self.nms_iou, self.min_presence, self.batch_size = nms_iou, min_presence, batch_size
        self.model = f"{det_file}@{sha256_of(det_path)[:12]}+{LANDMARKS}@{sha256_of(mesh_path)[:12]}"
        det_name, mesh_name = self.detector_engine.name, self.mesh_engine.name
        self.name = f"facemesh-{mesh_name}" if det_name == mesh_name else f"facemesh-{det_name}+{mesh_name}"
        self.last_use = (
            EngineUse()
        )  #: what ran the latest analyze() call's model calls (Note [Stage engines])

    @property
    def last_name(self) -> str:
        """`name`, or what really ran the latest analyze() (the torch fallback included)."""
        return f"facemesh-{self.last_use.label('')}" if self.last_use.fallback_calls else self.name

    @torch.inference_mode()
    def _batched(self, fn: ModelEngine, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i in range(0, len(x), self.batch_size):
            outs.append(fn(x[i : i + self.batch_size]))
            self.last_use.add(fn)
        return [torch.cat([o[k] for o in outs]) for k in range(len(outs[0]))]

    def analyze(self, clips: list[torch.Tensor]) -> list[list[Faces]]:
        """clips: per clip a (N_i, H_i, W_i, 3) uint8 RGB tensor -> per clip, per frame, its Faces."""
        size = self.detector.cfg.input_size
        self.last_use = EngineUse()
        inputs, rois = [], []
        for frames in clips:
            n, h, w, _ = frames.shape
            roi = letterbox_roi(h, w)
            rois.append(roi)
            mats = torch.from_numpy(np.repeat(roi.matrix(size)[None], n, 0)).float().to(frames.device)
            idx = torch.arange(n, device=frames.device)
            inputs.append(warp(frames, idx, mats, size, size, 2.0 / 255.0, -1.0, BORDER_ZERO))
        if not inputs or sum(len(x) for x in inputs) == 0:
            return [[] for _ in clips]
        dets, scores = self._batched(self.detector_engine, torch.cat(inputs).to(self.device))
        # threshold where the scores are: only the few kept anchors go to the host, not (N, 2304, 16)
        scores = scores.float()
        frame_of, anchor = (scores >= self.min_score).nonzero(
            as_tuple=True
        )  # row-major: by frame, then anchor
        kept_dets = dets[frame_of, anchor].float().cpu().numpy()
        kept_scores = scores[frame_of, anchor].cpu().numpy()
        bounds = np.searchsorted(frame_of.cpu().numpy(), np.arange(len(scores) + 1))

        # per frame: thresholded, NMS'd detections in frame pixels
        per_frame: list[list[np.ndarray]] = []
        pos = 0
        for frames, roi in zip(clips, rois, strict=True):
            frame_dets = []
            for _ in range(len(frames)):
                a, b = bounds[pos], bounds[pos + 1]
                kd, ks = weighted_nms(kept_dets[a:b], kept_scores[a:b], self.nms_iou)
                fd = detections_to_frame(kd, roi.side, roi.cx, roi.cy)
                frame_dets.append(np.concatenate([fd, ks[:, None].astype(np.float64)], 1))
                pos += 1
            per_frame.append(frame_dets)

        crops, face_rois = [], []
        for frames, frame_dets in zip(clips, per_frame, strict=True):
            h, w = frames.shape[1:3]
            idx_l, mats_l, roi_l = [], [], []
            for i, d in enumerate(frame_dets):
                for det in d:
                    r = face_roi(det[:16], h, w)
                    idx_l.append(i)
                    mats_l.append(r.matrix(MESH_INPUT))
                    roi_l.append(r)
            face_rois.append(roi_l)
            if idx_l:
                idx = torch.tensor(idx_l, device=frames.device)
                mats = torch.from_numpy(np.stack(mats_l)).float().to(frames.device)
                crops.append(
                    warp(frames, idx, mats, MESH_INPUT, MESH_INPUT, 1.0 / 255.0, 0.0, BORDER_REPLICATE)
                )
        if crops:
            lm_t, pres_t = self._batched(self.mesh_engine, torch.cat(crops).to(self.device))
            lm_all, pres_all = lm_t.float().cpu().numpy(), pres_t.float().cpu().numpy()
        else:
            lm_all, pres_all = np.zeros((0, 468, 3), np.float32), np.zeros(0, np.float32)

        result: list[list[Faces]] = []
        pos = 0
        for frame_dets, roi_l in zip(per_frame, face_rois, strict=True):
            clip_out, k = [], 0
            for d in frame_dets:
                n = len(d)
                if n == 0:
                    clip_out.append(_empty())
                    continue
                rs: list[Roi] = roi_l[k : k + n]
                lm = np.stack([r.to_frame(lm_all[pos + j], MESH_INPUT) for j, r in enumerate(rs)])
                pres = pres_all[pos : pos + n].astype(np.float64)
                ok = pres >= self.min_presence
                lm, pres, dd = lm[ok], pres[ok], d[ok]
                kps = five_keypoints(torch.from_numpy(lm)).numpy() if len(lm) else np.zeros((0, 5, 2))
                clip_out.append(Faces(dd[:, :4], kps, head_pose(lm), dd[:, 16], pres, lm))
                pos += n
                k += n
            result.append(clip_out)
        return result
