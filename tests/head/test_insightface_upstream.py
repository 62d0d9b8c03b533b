"""Our InsightFace backend against `insightface==0.7.3`'s own Python code (runs only where it is installed).

The buffalo_l models cannot be downloaded here, so two small stand-in ONNX graphs with the same
input/output signatures as det_10g (1x3x640x640 -> 9 outputs) and 1k3d68 (1x3x192x192 -> 1x3309) are
built in a temporary folder; their outputs are deterministic functions of the input image (pooled
pixels through fixed random weights), so any difference in resize, padding, mean/std, channel order,
crop, anchor decoding, thresholding, NMS, landmark mapping or pose shows up as a difference. Both
`insightface.app.FaceAnalysis` (which routes det_10g to its `RetinaFace` class) and our
`InsightFaceBackend` run the same graphs on the same real frames; per-function checks follow.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from talkvid_fast.head._meanshape_68 import MEANSHAPE_68
from talkvid_fast.head.insightface_backend import (
    InsightFaceBackend,
    insightface_nms,
    insightface_pose,
    landmark_crop_matrix,
    landmarks_from_output,
    scrfd_blob,
    scrfd_decode,
)
from talkvid_fast.head.pose import CANONICAL_FACE, euler_to_matrix, head_pose
from tests.conftest import decode_rgb

insightface = pytest.importorskip("insightface")
from insightface.app import FaceAnalysis  # noqa: E402
from insightface.data import get_object  # noqa: E402
from insightface.model_zoo.retinaface import RetinaFace  # noqa: E402
from insightface.utils import face_align  # noqa: E402
from insightface.utils import transform as if_transform  # noqa: E402

FRAMES = (  # square, 16:9 and 9:16 frames: both branches of SCRFD's aspect-preserving resize
    "positives/sadtalker__WDA_KatieHill_000.mp4",
    "positives/liveportrait__s32.mp4",
    "positives/liveportrait__d13.mp4",
)


def _init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return onnx.numpy_helper.from_array(np.ascontiguousarray(arr, np.float32), name)


def _save(graph: onnx.GraphProto, path: Path) -> None:
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))


def _stand_in_det(path: Path, rng: np.random.Generator) -> None:
    """det_10g's signature: input (1, 3, 640, 640); per stride 8/16/32 scores (2n^2, 1), boxes (2n^2, 4), kps (2n^2, 10)."""
    from onnx import TensorProto, helper

    nodes, inits, outs = [], [], {}
    for s in (8, 16, 32):
        n = 640 // s
        pool = helper.make_node("AveragePool", ["input.1"], [f"p{s}"], kernel_shape=[s, s], strides=[s, s])
        nodes.append(pool)
        for kind, k in (("score", 1), ("bbox", 4), ("kps", 10)):
            w = rng.normal(0, 1.0, (2 * k, 3, 1, 1))
            score_bias = {8: -4.0, 16: -3.0, 32: -2.0}[s]  # few detections, most at stride 32
            b = np.full(2 * k, {"score": score_bias, "bbox": 1.5, "kps": 0.0}[kind])
            inits += [
                _init(f"w{kind}{s}", w),
                _init(f"b{kind}{s}", b),
                onnx.numpy_helper.from_array(np.array([2, k, n * n], np.int64), f"sh{kind}{s}"),
                onnx.numpy_helper.from_array(np.array([2 * n * n, k], np.int64), f"sf{kind}{s}"),
            ]
            nodes.append(helper.make_node("Conv", [f"p{s}", f"w{kind}{s}", f"b{kind}{s}"], [f"c{kind}{s}"]))
            nodes.append(helper.make_node("Reshape", [f"c{kind}{s}", f"sh{kind}{s}"], [f"r{kind}{s}"]))
            nodes.append(helper.make_node("Transpose", [f"r{kind}{s}"], [f"t{kind}{s}"], perm=[2, 0, 1]))
            nodes.append(helper.make_node("Reshape", [f"t{kind}{s}", f"sf{kind}{s}"], [f"f{kind}{s}"]))
            act = {"score": "Sigmoid", "bbox": "Abs", "kps": "Identity"}[kind]
            nodes.append(helper.make_node(act, [f"f{kind}{s}"], [f"out_{kind}_{s}"]))
            shape = [2 * n * n, k]
            outs[(kind, s)] = helper.make_tensor_value_info(f"out_{kind}_{s}", TensorProto.FLOAT, shape)
    order = [outs[(kind, s)] for kind in ("score", "bbox", "kps") for s in (8, 16, 32)]
    x = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 640, 640])
    _save(helper.make_graph(nodes, "det", [x], order, inits), path)


def _stand_in_landmark(path: Path, rng: np.random.Generator, normalise_inside: bool) -> None:
    """1k3d68's signature: (1, 3, 192, 192) -> (1, 3309); the last 68 points near 0.6 * meanshape."""
    from onnx import TensorProto, helper

    nodes, inits = [], []
    src = "data"
    if normalise_inside:  # an mxnet-style graph that normalises itself: InsightFace then feeds raw pixels
        inits += [_init("m", np.array(127.5)), _init("sd", np.array(1 / 128))]
        nodes += [helper.make_node("Sub", ["data", "m"], ["sub"], name="Sub_0"),
                  helper.make_node("Mul", ["sub", "sd"], ["mul"], name="Mul_1")]  # fmt: skip
        src = "mul"
    base = np.zeros((1103, 3))
    base[-68:] = 0.6 * MEANSHAPE_68
    inits += [
        _init("w", rng.normal(0, 0.3, (432, 3309))),
        _init("base", base.reshape(1, -1)),
        _init("amp", np.array(0.05)),
        onnx.numpy_helper.from_array(np.array([1, 432], np.int64), "flat"),
    ]
    nodes += [
        helper.make_node("AveragePool", [src], ["p"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("Reshape", ["p", "flat"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["mm"]),
        helper.make_node("Tanh", ["mm"], ["th"]),
        helper.make_node("Mul", ["th", "amp"], ["sc"]),
        helper.make_node("Add", ["sc", "base"], ["fc1"]),
    ]
    x = helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 192, 192])
    y = helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 3309])
    _save(helper.make_graph(nodes, "lmk", [x], [y], inits), path)


@pytest.fixture(scope="module")
def frames(testmedia: Path) -> list[np.ndarray]:
    return [decode_rgb(testmedia / f, max_frames=1)[0] for f in FRAMES]


@pytest.mark.parametrize("normalise_inside", [False, True])
def test_whole_backend_matches_face_analysis(
    frames: list[np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, normalise_inside: bool
) -> None:
    rng = np.random.default_rng(3)
    upstream_dir = tmp_path / "models" / "buffalo_l"  # what FaceAnalysis(root=tmp_path) reads
    ours_dir = tmp_path / "home" / "weights" / "insightface"  # what the stage reads
    for d in (upstream_dir, ours_dir):
        d.mkdir(parents=True)
    _stand_in_det(upstream_dir / "det_10g.onnx", rng)
    _stand_in_landmark(upstream_dir / "1k3d68.onnx", rng, normalise_inside)
    for f in ("det_10g.onnx", "1k3d68.onnx"):
        (ours_dir / f).write_bytes((upstream_dir / f).read_bytes())
    monkeypatch.setenv("TALKVID_FAST_HOME", str(tmp_path / "home"))

    app = FaceAnalysis(name="buffalo_l", root=str(tmp_path), allowed_modules=["detection", "landmark_3d_68"],
                       providers=["CPUExecutionProvider"])  # fmt: skip
    app.prepare(ctx_id=-1, det_thresh=0.5, det_size=(640, 640))
    assert isinstance(app.det_model, RetinaFace)
    ours = InsightFaceBackend(torch.device("cpu"), det_size=640, det_thresh=0.5)
    assert (ours.lmk_mean, ours.lmk_std) == (app.models["landmark_3d_68"].input_mean,
                                             app.models["landmark_3d_68"].input_std)  # fmt: skip
    n_faces = []
    for rgb in frames:
        want = app.get(np.ascontiguousarray(rgb[:, :, ::-1]))  # InsightFace takes BGR frames
        got = ours.analyze_frame(rgb)
        n_faces.append(got.count)
        assert got.count == len(want)
        if not want:
            continue
        assert np.allclose(got.box, [f.bbox for f in want], atol=1e-3)
        assert np.allclose(got.score, [f.det_score for f in want], atol=1e-6)
        assert np.allclose(got.kps, [f.kps for f in want], atol=1e-3)
        assert np.allclose(got.pose, [f.pose for f in want], atol=1e-2)  # theirs: float32 landmarks
    # measured [10, 0, 3]: several overlapping "faces" (NMS at work) and the dark 16:9 frame with none
    assert sum(n_faces) >= 10 and max(n_faces) >= 5


def test_meanshape_is_upstream_pickle() -> None:
    assert np.array_equal(MEANSHAPE_68, np.asarray(get_object("meanshape_68.pkl"), np.float64))


def test_scrfd_blob_and_decode_match_retinaface_forward(frames: list[np.ndarray]) -> None:
    rng = np.random.default_rng(5)
    outs = []
    for k in (1, 4, 10):
        for s in (8, 16, 32):
            outs.append(rng.uniform(0, 1.0, (2 * (640 // s) ** 2, k)).astype(np.float32))
    seen: dict[str, np.ndarray] = {}

    def run(_names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        seen["blob"] = feed["input.1"]
        return outs

    det = RetinaFace.__new__(RetinaFace)  # the class FaceAnalysis uses for det_10g, with a fake session
    det.session = types.SimpleNamespace(run=run)
    det.output_names, det.input_name, det.input_mean, det.input_std = [], "input.1", 127.5, 128.0
    det.fmc, det._feat_stride_fpn, det._num_anchors = 3, [8, 16, 32], 2
    det.use_kps, det.center_cache = True, {}
    det.input_size, det.det_thresh, det.nms_thresh = (640, 640), 0.97, 0.4
    for rgb in frames[1:]:
        det.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
        blob, _ = scrfd_blob(rgb, 640)
        assert np.abs(seen["blob"] - blob).max() < 1e-6
    want_s, want_b, want_k = det.forward(np.zeros((640, 640, 3), np.uint8), 0.97)
    got_s, got_b, got_k = scrfd_decode(outs, 640, 0.97)
    assert len(got_s) > 100
    assert np.array_equal(got_s, np.concatenate(want_s).ravel())
    assert np.allclose(got_b, np.concatenate(want_b), atol=1e-4)
    assert np.allclose(got_k, np.concatenate(want_k), atol=1e-4)


@pytest.mark.parametrize("thresh", [0.4, 0.3])
def test_nms_matches_upstream(thresh: float) -> None:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 200, (300, 2))
    wh = rng.uniform(5, 60, (300, 2))
    dets = np.hstack([xy, xy + wh, rng.uniform(0.5, 1, (300, 1))]).astype(np.float32)
    want = RetinaFace.nms(types.SimpleNamespace(nms_thresh=thresh), dets)
    got = insightface_nms(dets, thresh)
    assert got == [int(i) for i in want] and 20 < len(got) < 290
    if thresh == 0.4:  # RetinaFace/SCRFD.__init__ sets nms_thresh = 0.4, and FaceAnalysis never changes it
        assert insightface_nms(dets) == got


def test_crop_and_landmark_mapping_match_face_align(frames: list[np.ndarray]) -> None:
    rng = np.random.default_rng(9)
    rgb = frames[1]
    for _ in range(5):
        x0, y0 = rng.uniform(0, 800), rng.uniform(0, 400)
        box = np.array([x0, y0, x0 + rng.uniform(40, 300), y0 + rng.uniform(40, 300)], np.float32)
        w, h = box[2] - box[0], box[3] - box[1]
        centre = (box[2] + box[0]) / 2, (box[3] + box[1]) / 2
        crop_up, m_up = face_align.transform(rgb, centre, 192, 192 / (max(w, h) * 1.5), 0)
        m = landmark_crop_matrix(box)
        assert np.allclose(m, m_up, atol=1e-4)
        import cv2

        assert np.abs(cv2.warpAffine(rgb, m, (192, 192), borderValue=0.0).astype(int) - crop_up).max() <= 1
        pred = rng.uniform(-1, 1, (1103, 3)).astype(np.float32)
        want = pred[-68:].copy()
        want[:, 0:2] += 1
        want[:, 0:2] *= 96
        want[:, 2] *= 96
        want = face_align.trans_points(want, cv2.invertAffineTransform(m_up))
        assert np.allclose(landmarks_from_output(pred.reshape(-1), m), want, atol=1e-3)


def test_pose_formula_matches_upstream() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        # an affine (not rigid) map plus noise: exercises P2sRt's row normalisation
        a = euler_to_matrix(*rng.uniform([-60, -80, -60], [60, 80, 60])) @ np.diag(rng.uniform(0.8, 1.2, 3))
        pts = 100 * MEANSHAPE_68 @ a.T + rng.uniform(0, 500, 3) + rng.normal(0, 2, (68, 3))
        p = if_transform.estimate_affine_matrix_3d23d(get_object("meanshape_68.pkl"), pts)
        want = if_transform.matrix2angle(if_transform.P2sRt(p)[1])
        assert np.allclose(insightface_pose(pts), want, atol=1e-9)


def test_facemesh_pose_uses_insightfaces_convention() -> None:
    """The same head motion in the image gives the same (pitch, yaw, roll) from both backends' formulas."""
    rng = np.random.default_rng(13)
    for _ in range(20):
        r = euler_to_matrix(*rng.uniform([-40, -60, -40], [40, 60, 40]))
        # InsightFace's frame: x right, y down, z towards the camera (meanshape_68 and 1k3d68 output)
        pts68 = 100 * MEANSHAPE_68 @ r.T + 300
        p = if_transform.estimate_affine_matrix_3d23d(get_object("meanshape_68.pkl"), pts68)
        want = np.array(if_transform.matrix2angle(if_transform.P2sRt(p)[1]))
        # Face Mesh landmarks of the same head: image x, y; MediaPipe z (smaller = nearer the camera)
        mesh = 10 * CANONICAL_FACE @ r.T + 300
        mesh[:, 2] *= -1
        assert np.allclose(head_pose(mesh[None])[0], want, atol=1e-6)
