"""The `insightface` backend (parity with `official`): SCRFD det_10g + 1k3d68 pose, from buffalo_l ONNX files.

Note [InsightFace parity]: re-implements what `insightface==0.7.3` `FaceAnalysis().get(frame)` does for
the two models TalkVid's head filter uses (deepinsight/insightface `model_zoo/scrfd.py`, `landmark.py`,
`utils/face_align.py`, `utils/transform.py`):
- SCRFD: resize keeping the aspect ratio into `det_size` (cv2 INTER_LINEAR), pad bottom/right with 0,
  blob = (RGB - 127.5) / 128; per stride 8/16/32 with 2 anchors per cell: score >= det_thresh,
  box = centre -/+ distance * stride, 5 kps = centre + offset * stride; divide by the resize scale;
  greedy NMS at IoU 0.4 with InsightFace's `+1` box areas.
- 1k3d68: crop centred on the box, scale 192 / (1.5 max(w, h)), no rotation, zero border; blob with the
  mean/std InsightFace detects from the graph; last 68 of the (-1, 3) points; xy = (p + 1) * 96,
  z = p * 96; mapped back by the inverse crop; pose = matrix2angle(P2sRt(lstsq affine meanshape -> pts)).
The frames arrive RGB, which is what InsightFace's `swapRB=True` feeds the networks from BGR.
`FaceAnalysis` routes det_10g (9 outputs) to `model_zoo/retinaface.py`'s `RetinaFace` class, whose
`forward`/`detect`/`nms` equal `SCRFD`'s for unbatched outputs. Checked against insightface's own code in
tests/head/test_insightface_upstream.py when it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..weights import WeightsMissing, locate, set_dir, sha256_of
from ._facemesh_backend import Faces
from ._meanshape_68 import MEANSHAPE_68
from .weights import INSIGHTFACE, INSIGHTFACE_DET, INSIGHTFACE_POSE

STRIDES = (8, 16, 32)
NUM_ANCHORS = 2


def scrfd_resize(h: int, w: int, size: int) -> tuple[int, int, float]:
    """(new_h, new_w, det_scale) of SCRFD.detect for a square input of `size`."""
    if h / w > 1.0:
        new_h, new_w = size, int(size / (h / w))
    else:
        new_w, new_h = size, int(size * (h / w))
    return new_h, new_w, new_h / h


def scrfd_blob(frame: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """frame (H, W, 3) uint8 RGB -> blob (1, 3, size, size) float32 and det_scale."""
    import cv2

    h, w = frame.shape[:2]
    new_h, new_w, scale = scrfd_resize(h, w, size)
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(frame, (new_w, new_h))
    blob = (canvas.astype(np.float32) - 127.5) / 128.0
    return blob.transpose(2, 0, 1)[None], scale


def scrfd_decode(
    outs: list[np.ndarray], size: int, thresh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SCRFD's 9 outputs (scores, boxes, kps per stride) -> scores (M,), boxes (M, 4), kps (M, 5, 2) in input px.

    RetinaFace.forward: anchor centres (x, y) * stride, cell-major, 2 anchors per cell; then
    distance2bbox / distance2kps on the predictions times the stride; keep score >= thresh.
    """
    scores_l, boxes_l, kps_l = [], [], []
    for i, stride in enumerate(STRIDES):
        scores = outs[i].reshape(-1)
        dist = outs[i + 3].reshape(-1, 4) * stride
        kd = outs[i + 6].reshape(-1, 10) * stride
        n = size // stride
        centres = np.stack(list(np.mgrid[:n, :n][::-1]), axis=-1).astype(np.float32).reshape(-1, 2) * stride
        centres = np.repeat(centres, NUM_ANCHORS, axis=0)
        pos = np.where(scores >= thresh)[0]
        c = centres[pos]
        boxes_l.append(
            np.stack(
                [
                    c[:, 0] - dist[pos, 0],
                    c[:, 1] - dist[pos, 1],
                    c[:, 0] + dist[pos, 2],
                    c[:, 1] + dist[pos, 3],
                ],
                axis=-1,
            )
        )
        kps_l.append((np.tile(c, 5) + kd[pos]).reshape(-1, 5, 2))
        scores_l.append(scores[pos])
    return np.concatenate(scores_l), np.concatenate(boxes_l), np.concatenate(kps_l)


def insightface_nms(dets: np.ndarray, thresh: float = 0.4) -> list[int]:
    """SCRFD.nms: greedy, areas with +1, keeps a box when IoU <= thresh. dets (M, 5) box + score."""
    x1, y1, x2, y2, scores = dets.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[order[1:]]) - np.maximum(x1[i], x1[order[1:]]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[order[1:]]) - np.maximum(y1[i], y1[order[1:]]) + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


def landmark_crop_matrix(box: np.ndarray, size: int = 192) -> np.ndarray:
    """(2, 3) forward affine M of face_align.transform (frame -> crop), rotation 0."""
    w, h = box[2] - box[0], box[3] - box[1]
    cx, cy = (box[2] + box[0]) / 2, (box[3] + box[1]) / 2
    s = size / (max(w, h) * 1.5)
    return np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float64)


def landmarks_from_output(pred: np.ndarray, m: np.ndarray, size: int = 192) -> np.ndarray:
    """1k3d68 output (3309,) -> (68, 3) points in frame pixels (InsightFace's Landmark.get)."""
    p = pred.reshape(-1, 3)[-68:].astype(np.float64).copy()
    p[:, 0:2] += 1
    p[:, 0:2] *= size // 2
    p[:, 2] *= size // 2
    s = m[0, 0]
    p[:, 0] = (
        p[:, 0] - m[0, 2]
    ) / s  # inverse of the scale+translation crop (IM of cv2.invertAffineTransform)
    p[:, 1] = (p[:, 1] - m[1, 2]) / s
    p[:, 2] = p[:, 2] / s  # trans_points3d scales z by the transform's scale
    return p


def insightface_pose(lmk3d: np.ndarray, mean: np.ndarray = MEANSHAPE_68) -> np.ndarray:
    """(68, 3) -> pitch, yaw, roll degrees: estimate_affine_matrix_3d23d, P2sRt, matrix2angle."""
    x_h = np.hstack([mean.astype(np.float64), np.ones((len(mean), 1))])
    p = np.linalg.lstsq(x_h, lmk3d, rcond=None)[0].T  # (3, 4)
    r1, r2 = p[0, :3] / np.linalg.norm(p[0, :3]), p[1, :3] / np.linalg.norm(p[1, :3])
    r = np.stack([r1, r2, np.cross(r1, r2)])
    sy = math.sqrt(r[0, 0] ** 2 + r[1, 0] ** 2)
    if sy >= 1e-6:
        x, y, z = math.atan2(r[2, 1], r[2, 2]), math.atan2(-r[2, 0], sy), math.atan2(r[1, 0], r[0, 0])
    else:
        x, y, z = math.atan2(-r[1, 2], r[1, 1]), math.atan2(-r[2, 0], sy), 0.0
    return np.array([x, y, z]) * 180 / np.pi


def _graph_mean_std(path: str) -> tuple[float, float]:
    import onnx

    nodes = onnx.load(path, load_external_data=False).graph.node[:8]
    sub = any(n.name.startswith(("Sub", "_minus")) for n in nodes) or any(
        n.name == "bn_data" for n in nodes[:3]
    )
    mul = any(n.name.startswith(("Mul", "_mul")) for n in nodes) or any(
        n.name == "bn_data" for n in nodes[:3]
    )
    return (0.0, 1.0) if sub and mul else (127.5, 128.0)


class InsightFaceBackend:
    """Runs det_10g and 1k3d68 with ONNX Runtime (CUDA provider on a GPU when available)."""

    def __init__(self, device: torch.device, det_size: int = 640, det_thresh: float = 0.5) -> None:
        import onnxruntime as ort

        try:
            det_path, pose_path = locate(INSIGHTFACE, INSIGHTFACE_DET), locate(INSIGHTFACE, INSIGHTFACE_POSE)
        except WeightsMissing as exc:
            folder = set_dir(INSIGHTFACE.name)
            raise WeightsMissing(
                f"insightface backend: {exc.reason}",
                f"copy {INSIGHTFACE_DET} and {INSIGHTFACE_POSE} from InsightFace's buffalo_l pack (buffalo_l.zip, "
                f"or ~/.insightface/models/buffalo_l/ after `insightface` downloaded it) into {folder}/ "
                '(set TALKVID_FAST_HOME to move the cache); or use backend = "facemesh"',
            ) from exc
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.det = ort.InferenceSession(str(det_path), providers=providers)
        self.lmk = ort.InferenceSession(str(pose_path), providers=providers)
        self.lmk_mean, self.lmk_std = _graph_mean_std(str(pose_path))
        self.det_size, self.det_thresh = det_size, det_thresh
        self.name = f"insightface-onnxruntime-{'cuda' if len(providers) > 1 else 'cpu'}"
        self.model = (
            f"{INSIGHTFACE_DET}@{sha256_of(det_path)[:12]}+{INSIGHTFACE_POSE}@{sha256_of(pose_path)[:12]}"
        )

    def analyze_frame(self, frame: np.ndarray) -> Faces:
        """frame (H, W, 3) uint8 RGB -> its faces (FaceAnalysis.get with detection + landmark_3d_68)."""
        import cv2

        blob, scale = scrfd_blob(frame, self.det_size)
        outs = self.det.run(None, {self.det.get_inputs()[0].name: blob})
        scores, boxes, kps = scrfd_decode(list(outs), self.det_size, self.det_thresh)
        order = scores.argsort()[::-1]
        pre = np.hstack([boxes / scale, scores[:, None]]).astype(np.float32)[order]
        kps = (kps / scale)[order]
        keep = insightface_nms(pre)
        pre, kps = pre[keep], kps[keep]
        poses = []
        for box in pre[:, :4]:
            m = landmark_crop_matrix(box)
            crop = cv2.warpAffine(frame, m, (192, 192), borderValue=0.0)
            x = ((crop.astype(np.float32) - self.lmk_mean) / self.lmk_std).transpose(2, 0, 1)[None]
            pred = self.lmk.run(None, {self.lmk.get_inputs()[0].name: x})[0][0]
            poses.append(insightface_pose(landmarks_from_output(pred, m)))
        n = len(pre)
        return Faces(
            pre[:, :4].astype(np.float64),
            kps.astype(np.float64),
            np.array(poses).reshape(n, 3),
            pre[:, 4].astype(np.float64),
            np.ones(n),
            np.zeros((n, 468, 3)),
        )

    def analyze(self, clips: list[torch.Tensor]) -> list[list[Faces]]:
        return [[self.analyze_frame(f) for f in frames.cpu().numpy()] for frames in clips]
